"""An approved note as a document: Markdown, DOCX (python-docx) or PDF (fpdf2).

By default the document carries placeholders ([PERSON_1], [NHS_NUMBER_1], ...), never the
person's details: any original value the local redaction map knows is replaced by its
placeholder. Only when a user whose role may re-identify (a coordinator) asks
(``reidentify_names=True``, ``user=...``) are the placeholders put back from the local map,
on this machine; anyone else is refused with NotAllowed.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from assistant.accounts import can
from assistant.directory import LOCAL_TIME
from assistant.drafting import UNSUPPORTED_MARK
from assistant.errors import BadInput, NotAllowed
from assistant.records import PLACEHOLDER
from assistant.review import goals_section

Format = Literal["md", "docx", "pdf"]
FORMATS: dict[str, tuple[str, str]] = {
    "md": ("text/markdown", ".md"),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", ".docx"),
    "pdf": ("application/pdf", ".pdf"),
}
EXPORTABLE = ("approved", "signed_off")
UNICODE_FONT = Path("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf")
LINE_BREAKS = re.compile(r"\r\n?|[\v\f\x85\u2028\u2029]")
# control characters (a pasted or transcribed text can hold them) that no document format can carry; a BOM
CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\ufeff]")


def pseudonymise(text: str, mapping: dict[str, str]) -> str:
    """Replace every original value the map knows with its placeholder, longest first.

    A person is also found by any one part of their name ("Margaret" or "Ellis" for
    "Margaret Ellis"), matched as a capitalised word.
    """
    values: list[tuple[str, str, int]] = []
    for placeholder, original in mapping.items():
        if original.strip():
            values.append((original.strip(), placeholder, re.IGNORECASE))
        if placeholder.startswith("[PERSON_"):
            values += [(part, placeholder, 0) for part in re.findall(r"[A-Z][\w'’-]+", original) if len(part) > 2]
    for value, placeholder, flags in sorted(values, key=lambda v: -len(v[0])):
        pattern = re.compile(rf"(?<![\w\[]){re.escape(value)}(?!\w)", flags)
        text = pattern.sub(placeholder.replace("\\", "\\\\"), text)
    return text


def reidentify(text: str, mapping: dict[str, str]) -> str:
    """Put the originals back for placeholders the local map knows; others stay as they are."""
    return PLACEHOLDER.sub(lambda m: mapping.get(m.group(0), m.group(0)), text)


@dataclass
class Document:
    """A note ready to write out: a title, a few facts, titled sections and goals."""

    title: str
    facts: list[tuple[str, str]]
    sections: list[tuple[str, str]]
    goals: list[str]

    def map_text(self, fn: Any) -> Document:
        return Document(
            fn(self.title),
            [(k, fn(v)) for k, v in self.facts],
            [(fn(t), fn(x)) for t, x in self.sections],
            [fn(g) for g in self.goals],
        )


def document(
    draft: dict[str, Any],
    assessment: dict[str, Any],
    mapping: dict[str, str],
    reidentify_names: bool = False,
    title: str | None = None,
    *,
    user: dict[str, str] | None = None,
) -> Document:
    """Build the document for a stored draft (``Store.draft``) of a stored assessment.

    Only a reviewed note leaves the app: one that is approved or signed off. Putting the
    person's details back (``reidentify_names``) needs the ``user`` asking, with the
    ``reidentify`` permission; a pseudonymised document needs no user.
    """
    if reidentify_names:
        _may_reidentify(user)
    if draft["status"] not in EXPORTABLE:
        raise BadInput(
            f"this note is '{draft['status'].replace('_', ' ')}'; only an approved or signed-off note can be exported"
        )
    content = draft["content"]
    sections = _titled(content)
    goals = _goals(content)
    facts = [("Reference", assessment["reference"]), ("Version", str(draft["version"]))]
    facts.append(("Status", draft["status"].replace("_", " ")))
    if draft.get("signed_off_by"):
        when = draft.get("signed_off_at")
        stamp = uk_time(when) if isinstance(when, datetime) else str(when or "")
        facts.append(("Signed off", f"{draft['signed_off_by']} {stamp}".strip()))
    doc = Document(title or _template_title(content.get("template", draft.get("template", ""))), facts, sections, goals)
    doc = doc.map_text(lambda t: pseudonymise(plain_text(t), mapping))
    if reidentify_names:
        doc = doc.map_text(lambda t: reidentify(t, mapping))
    return doc


def uk_time(when: datetime) -> str:
    """A stored time (UTC) as the service reads it: UK time, said so."""
    return f"{when.astimezone(LOCAL_TIME):%d %b %Y %H:%M} (UK time)"


def plain_text(text: str) -> str:
    """The text with any line break as a newline, and no control characters or BOM that a format cannot hold."""
    return CONTROL.sub("", LINE_BREAKS.sub("\n", text))


def _may_reidentify(user: dict[str, str] | None) -> None:
    """Raise NotAllowed unless this user's role may put a person's details back into an export."""
    if user is None:
        raise NotAllowed("say who is asking: only a user who may re-identify can put a person's details back")
    if not can(user["role"], "reidentify"):
        raise NotAllowed(f"the {user['role']} role may not put a person's details back into an export")


def sections_of(draft: dict[str, Any], mapping: dict[str, str]) -> list[tuple[str, str]]:
    """The note's titled sections as shown on screen, whatever its status: pseudonymised, never exported."""
    return [(pseudonymise(title, mapping), pseudonymise(text, mapping)) for title, text in _titled(draft["content"])]


def _goals(content: dict[str, Any]) -> list[str]:
    """The drafted SMART goals, for a note that has no goals section: one that has states its goals there,
    as the OT last edited them, and the drafted ones would repeat them or, once edited, contradict them."""
    if goals_section(content) is not None:
        return []
    return [_goal_line(g) for g in content.get("goals", [])]


def _goal_line(goal: dict[str, Any]) -> str:
    """A goal as the note states it, with its measure and time the text does not already say (who supports the
    person is not exported), marked for checking when nothing said supports it."""
    text = goal["text"]
    parts = [
        f"{label}: {goal[key]}"
        for key, label in (("measure", "how much"), ("timeframe", "by when"))
        if goal.get(key) and goal[key].lower() not in text.lower()
    ]
    line = f"{text} ({'; '.join(parts)})" if parts else text
    return f"{UNSUPPORTED_MARK} {line}" if goal.get("flagged") else line


def _titled(content: dict[str, Any]) -> list[tuple[str, str]]:
    return [(s["title"], s["text"]) for s in content.get("sections", []) if s.get("text", "").strip()]


def _template_title(template: str) -> str:
    try:
        from assistant.templates import load_template

        return str(load_template(template).title)
    except Exception:
        return template.replace("_", " ").capitalize() or "Note"


def render(doc: Document, fmt: str) -> bytes:
    if fmt == "md":
        return to_markdown(doc).encode()
    if fmt == "docx":
        return to_docx(doc)
    if fmt == "pdf":
        return to_pdf(doc)
    raise BadInput(f"unknown export format '{fmt}'; choose one of: {', '.join(FORMATS)}")


# What Markdown reads as markup inside a line: an escape, emphasis, code, HTML or an autolink, a link's target,
# an entity ("_" only at a word's edge: [PERSON_1] stays as it is) ...
MD_INLINE = re.compile(r"[\\`*<>]|(?<!\w)_|_(?!\w)|(?<=\])\(|(?<=!)\[|&(?=#?\w+;)")
# ... and at a line's start (once the above is escaped): a heading, list item, rule, fence, table row or link
# definition ("[x]: url"; a placeholder, "[PERSON_1] consented.", stays as it is); an ordered list item ("1. ")
# is escaped at its full stop.
MD_LINE_START = re.compile(r"^(?:#|[-+=|~]|\[(?=[^\]]*\]:))")
MD_ORDERED = re.compile(r"^(\d+)([.)])(?=\s|$)")


def md_text(line: str) -> str:
    """One line of the note as Markdown that shows exactly that text: nothing in it becomes markup."""
    line = MD_INLINE.sub(lambda m: "\\" + m.group(), line.strip())
    return MD_ORDERED.sub(r"\1\\\2", MD_LINE_START.sub(lambda m: "\\" + m.group(), line))


def to_markdown(doc: Document) -> str:
    """The note as Markdown. Its text is escaped, each line its own paragraph (Markdown would run the lines of
    a section together), so the document shows what the note says, and nothing in it becomes markup."""
    lines = [f"# {md_text(doc.title)}", ""]
    lines += [f"- **{md_text(k)}:** {md_text(v)}" for k, v in doc.facts]
    for heading, text in doc.sections:
        lines += ["", f"## {md_text(heading)}"]
        for line in text.split("\n"):
            if line.strip():
                lines += ["", md_text(line)]
    if doc.goals:
        lines += ["", "## Goals", ""] + [f"{i}. {md_text(g)}" for i, g in enumerate(doc.goals, 1)]
    return "\n".join(lines) + "\n"


def to_docx(doc: Document) -> bytes:
    from docx import Document as WordDocument

    word = WordDocument()
    word.add_heading(doc.title, level=1)
    table = word.add_table(rows=0, cols=2)
    for key, value in doc.facts:
        cells = table.add_row().cells
        cells[0].text, cells[1].text = key, value
    for heading, text in doc.sections:
        word.add_heading(heading, level=2)
        for paragraph in text.split("\n"):
            word.add_paragraph(paragraph)
    if doc.goals:
        word.add_heading("Goals", level=2)
        for goal in doc.goals:
            word.add_paragraph(goal, style="List Number")
    buffer = io.BytesIO()
    word.save(buffer)
    return buffer.getvalue()


def to_pdf(doc: Document) -> bytes:
    from fpdf import FPDF

    pdf = FPDF(format="A4")
    pdf.set_auto_page_break(auto=True, margin=15)
    pdf.add_page()
    if UNICODE_FONT.exists():
        pdf.add_font("body", "", str(UNICODE_FONT))
        family, clean = "body", (lambda t: t)
    else:  # core fonts are Latin-1 only
        family, clean = "helvetica", _latin1
    width = pdf.epw

    def block(text: str, size: int, gap: float = 2) -> None:
        pdf.set_font(family, size=size)
        pdf.multi_cell(width, size * 0.5, clean(text), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(gap)

    block(doc.title, 16, 4)
    for key, value in doc.facts:
        block(f"{key}: {value}", 10, 0)
    pdf.ln(4)
    for heading, text in doc.sections:
        block(heading, 13)
        block(text, 11, 4)
    if doc.goals:
        block("Goals", 13)
        for i, goal in enumerate(doc.goals, 1):
            block(f"{i}. {goal}", 11, 1)
    return bytes(pdf.output())


def _latin1(text: str) -> str:
    table = {"‘": "'", "’": "'", "“": '"', "”": '"', "–": "-", "—": "-", "…": "...", "•": "-"}
    return "".join(table.get(c, c) for c in text).encode("latin-1", "replace").decode("latin-1")


def filename(doc: Document, fmt: str) -> str:
    stem = re.sub(r"[^A-Za-z0-9-]+", "-", f"{dict(doc.facts).get('Reference', 'note')}-{doc.title}").strip("-")
    return f"{stem[:80]}{FORMATS[fmt][1]}"
