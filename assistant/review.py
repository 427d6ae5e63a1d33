"""Review of a drafted note: submit, request changes, approve, sign off, amend.

Each step checks who may take it from which status, writes the decision and the
new status, and records an audit event. The app and the CLI call these; they never
set a draft's status themselves.

    draft ──submit──► submitted ──approve──► approved ──sign off──► signed_off (locked)
      ▲                  │  ▲                  │                       │
      │      request changes  └──── submit ────┤ request changes       │ amend
      │                  ▼                     ▼                       ▼
      └────────── changes_requested ◄──────────┘                     draft (next version)
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from assistant.accounts import can
from assistant.errors import BadInput, ConflictError, NotAllowed, TemplateError
from assistant.store import Store
from assistant.templates import load_template

REDRAFTED = "redrafted"  # the note on a version drafted again from a newer transcript
STATUSES = ("draft", "submitted", "changes_requested", "approved", "signed_off")
STATUS_LABELS = {
    "draft": "Draft",
    "submitted": "Waiting for review",
    "changes_requested": "Changes requested",
    "approved": "Approved",
    "signed_off": "Signed off",
}


@dataclass(frozen=True)
class Step:
    name: str
    permissions: tuple[str, ...]  # any one of these, from assistant.accounts.PERMISSIONS
    from_status: frozenset[str]
    to_status: str
    owner_only: bool = False  # only whoever drafted the note (see owner)
    needs_comment: bool = False


DRAFTERS = ("assess", "coordinate")  # the OT drafts notes; a coordinator drafts care-plan entries and letters
STEPS: dict[str, Step] = {
    s.name: s
    for s in (
        Step("submit", DRAFTERS, frozenset({"draft", "changes_requested"}), "submitted", owner_only=True),
        Step(
            "request_changes",
            ("review",),
            frozenset({"submitted", "approved"}),
            "changes_requested",
            needs_comment=True,
        ),
        Step("approve", ("review",), frozenset({"submitted"}), "approved"),
        Step("sign_off", ("review",), frozenset({"approved"}), "signed_off"),
        Step("amend", DRAFTERS, frozenset({"signed_off"}), "draft", owner_only=True, needs_comment=True),
    )
}


def owner(store: Store, draft: dict[str, Any]) -> str:
    """Who submits and amends a note: whoever drafted it (the OT for an assessment note, the coordinator for a
    care-plan entry or letter they made from it)."""
    first = store.version_stamps(draft["id"])[0]
    return str(first["author"])


def drafted_at(store: Store, draft_id: str) -> datetime:
    """When the note was last drafted from a transcript: its first version, or its latest redraft.

    The transcript that was current then is the one the note (and anything made from it) comes from.
    """
    stamps = store.version_stamps(draft_id)
    return max(v["created_at"] for v in stamps if v["version"] == 1 or v["note"] == REDRAFTED)


def allowed_steps(user: dict[str, str], draft: dict[str, Any], owner: str) -> list[str]:
    """The steps this user may take on this draft now, in the order the app shows them."""
    return [name for name, step in STEPS.items() if _refusal(step, user, draft["status"], owner) is None]


def _permitted(step: Step, user: dict[str, str]) -> bool:
    return any(can(user["role"], p) for p in step.permissions)


def _refusal(step: Step, user: dict[str, str], status: str, owner: str) -> str | None:
    if not _permitted(step, user):
        return f"the {user['role']} role may not {step.name.replace('_', ' ')}"
    if step.owner_only and user["username"] != owner:
        return f"only {owner}, who drafted this note, may {step.name.replace('_', ' ')} it"
    if status not in step.from_status:
        return (
            f"a note that is '{STATUS_LABELS.get(status, status)}' cannot be {_past(step.name)}; "
            f"it must be {' or '.join(repr(STATUS_LABELS[s]) for s in sorted(step.from_status))}"
        )
    return None


def _past(name: str) -> str:
    return {
        "submit": "submitted",
        "request_changes": "sent back for changes",
        "approve": "approved",
        "sign_off": "signed off",
        "amend": "amended",
    }[name]


def take_step(
    store: Store,
    draft_id: str,
    user: dict[str, str],
    step_name: str,
    comment: str = "",
    section_comments: dict[str, str] | None = None,
    read_version: int | None = None,
) -> dict[str, Any]:
    """Take one review step; returns the draft as it now is. Raises NotAllowed, BadInput or ConflictError.

    ``read_version`` is the version the user was looking at (the app passes it): if the
    note has moved on since, nothing is decided and ConflictError says so.
    """
    step = STEPS.get(step_name)
    if step is None:
        raise BadInput(f"unknown review step '{step_name}'; choose one of: {', '.join(STEPS)}")
    draft = store.draft(draft_id)
    refusal = _refusal(step, user, draft["status"], owner(store, draft))
    if refusal is not None:
        if _permitted(step, user) and draft["status"] not in step.from_status:
            raise ConflictError(refusal)
        raise NotAllowed(refusal)
    section_comments = {k: v.strip() for k, v in (section_comments or {}).items() if v.strip()}
    if step.needs_comment and not comment.strip() and not section_comments:
        raise BadInput(f"say what needs to change: {step.name.replace('_', ' ')} needs a comment")
    username = user["username"]
    version = draft["version"] if read_version is None else read_version
    store.move_draft(
        draft_id,
        from_status=draft["status"],
        version=version,
        to_status=step.to_status,
        reviewer=username,
        decisions=[(step.name, comment.strip(), None)]
        + [("comment", text, section_id) for section_id, text in section_comments.items()],
    )
    store.audit(
        username,
        step.name,
        f"draft:{draft_id}",
        {"version": version, "from": draft["status"], "to": step.to_status, "comments": len(section_comments)},
    )
    return store.draft(draft_id)


def submit(store: Store, draft_id: str, user: dict[str, str], read_version: int | None = None) -> dict[str, Any]:
    return take_step(store, draft_id, user, "submit", read_version=read_version)


def request_changes(
    store: Store, draft_id: str, user: dict[str, str], comment: str, section_comments: dict[str, str] | None = None
) -> dict[str, Any]:
    return take_step(store, draft_id, user, "request_changes", comment, section_comments)


def approve(
    store: Store, draft_id: str, user: dict[str, str], comment: str = "", read_version: int | None = None
) -> dict[str, Any]:
    return take_step(store, draft_id, user, "approve", comment, read_version=read_version)


def sign_off(store: Store, draft_id: str, user: dict[str, str], read_version: int | None = None) -> dict[str, Any]:
    return take_step(store, draft_id, user, "sign_off", read_version=read_version)


def amend(store: Store, draft_id: str, user: dict[str, str], reason: str) -> dict[str, Any]:
    """Unlock a signed-off note for an amendment; the next save becomes a new version, the signed one stays."""
    return take_step(store, draft_id, user, "amend", reason)


# ── the queue ───────────────────────────────────────────────────────────────
def queue(
    store: Store,
    statuses: tuple[str, ...] = ("submitted",),
    ot: str | None = None,
    older_than_days: float | None = None,
    at: datetime | None = None,
) -> list[dict[str, Any]]:
    """Drafts waiting on a reviewer, oldest first, with their age in days."""
    at = at or datetime.now(UTC)
    items = []
    for item in store.list_drafts():
        if item["status"] not in statuses or (ot and item["ot"] != ot):
            continue
        age = (at - item["updated_at"]) / timedelta(days=1)  # the store gives aware UTC times
        if older_than_days is not None and age < older_than_days:
            continue
        items.append({**item, "age_days": round(age, 2)})
    return items


# ── versions ────────────────────────────────────────────────────────────────
GOALS = "@goals"  # section_texts' key for the drafted SMART goals: no section id has an '@', so none collides


def section_texts(content: dict[str, Any]) -> dict[str, tuple[str, str]]:
    """section id -> (title, text), and the drafted SMART goals as one more under GOALS.

    The drafted goals are not the OT's to edit (a goals section, if the note has one, is): a merge leaves
    them alone, a diff shows them changing only when the note is redrafted.
    """
    out = {s["id"]: (s["title"], s.get("text", "")) for s in content.get("sections", [])}
    goals = content.get("goals") or []
    if goals:
        out[GOALS] = ("SMART goals (as drafted)", "\n".join(f"- {g['text']}" for g in goals))
    return out


def goals_section(content: dict[str, Any]) -> dict[str, Any] | None:
    """The section that states the note's goals, if its template has one (drafted from the SMART goals).

    Once drafted, that section is the note's goals, as the OT edited them: show and export it, not the
    drafted SMART goals beside it, which an edit leaves out of date.
    """
    try:
        template = load_template(str(content.get("template", "")))
        ids = {s.id for s in template.sections if s.drafted_by == "goals"}
    except TemplateError:
        ids = {"goals"}
    return next((s for s in content.get("sections", []) if s["id"] in ids), None)


def diff(store: Store, draft_id: str, old: int, new: int) -> list[dict[str, str]]:
    """Per-section unified diffs between two versions of a draft; unchanged sections are left out."""
    contents: dict[int, dict[str, Any]] = {}
    for v in (old, new):
        row = store.version(draft_id, v)
        if row is None:
            have = [s["version"] for s in store.version_stamps(draft_id)]
            raise BadInput(f"draft {draft_id} has no version {v}; it has {have}")
        contents[v] = row["content"]
    before, after = section_texts(contents[old]), section_texts(contents[new])
    changes = []
    for sid in list(before) + [s for s in after if s not in before]:
        title, a = before.get(sid, ("", ""))
        title_b, b = after.get(sid, (title, ""))
        if a == b:
            continue
        lines = difflib.unified_diff(
            a.splitlines(), b.splitlines(), f"version {old}", f"version {new}", lineterm="", n=1
        )
        changes.append({"section": sid, "title": title_b or title, "diff": "\n".join(lines)})
    return changes


def with_section_text(content: dict[str, Any], texts: dict[str, str]) -> dict[str, Any]:
    """A copy of the draft content with some sections' text replaced (an edit by the OT)."""
    sections = [{**s, "text": texts[s["id"]]} if s["id"] in texts else dict(s) for s in content.get("sections", [])]
    return {**content, "sections": sections}


def merge(base: dict[str, Any], mine: dict[str, Any], theirs: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """Three-way merge per section after a save conflict.

    A section only one side changed takes that side's text; a section both changed keeps
    mine and is returned in the list of clashes, so the editor can show theirs beside it.
    Nothing is dropped: their version stays in the history, mine becomes the next one.
    """
    b, m, t = (section_texts(c) for c in (base, mine, theirs))
    texts: dict[str, str] = {}
    clashes: list[str] = []
    for sid, (_, their_text) in t.items():
        if sid == GOALS:
            continue
        base_text = b.get(sid, ("", ""))[1]
        my_text = m.get(sid, ("", base_text))[1]
        if my_text == base_text:
            texts[sid] = their_text
        elif their_text in (base_text, my_text):
            texts[sid] = my_text
        else:
            texts[sid] = my_text
            clashes.append(sid)
    return with_section_text(theirs, texts), clashes
