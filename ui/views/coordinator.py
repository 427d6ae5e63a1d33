"""The coordinator: from an approved assessment, care-plan entries and letters, copied or exported."""

from __future__ import annotations

from typing import Any

import streamlit as st

from assistant import export, review
from assistant.accounts import can
from assistant.directory import LOCAL_TIME
from assistant.errors import ReconnectError
from assistant.records import Transcript
from assistant.store import EDITABLE
from ui.common import (
    COORDINATOR_TEMPLATES,
    audit_once,
    keep_pick,
    known_identifiers,
    reviewer_comments,
    services,
    user,
)

OUTPUTS = {"care_plan_entry": "Care-plan entry", "supporting_letter": "Supporting letter (e.g. bus pass)"}
NAMES = {"care_plan_entry": "Care-plan entry", "supporting_letter": "Supporting letter"}
APPROVED = ("approved", "signed_off")  # what outputs are drafted from


def page() -> None:
    svc = services()
    me = user()
    st.header("Care plans and letters")
    drafts = svc.store.list_drafts()
    made = {d["assessment_id"] for d in drafts if d["template"] in COORDINATOR_TEMPLATES}
    # approved notes, and notes that outputs were made from: once the OT amends a note (or a supervisor sends it back)
    # what was made from it is still reached here, to finish or export
    notes = [
        d
        for d in drafts
        if d["template"] not in COORDINATOR_TEMPLATES and (d["status"] in APPROVED or d["assessment_id"] in made)
    ]
    audit_once("view", "coordinator_outputs")
    if not notes:
        st.info("No approved assessments yet. They appear here once a supervisor approves them.")
        return
    labels = {d["id"]: f"{d['reference']} — {d['status'].replace('_', ' ')} — version {d['version']}" for d in notes}
    # the box keeps its choice by label, which changes with the note's status and version: keep the note picked
    keep_pick("coord_pick", labels)
    did = st.selectbox("Assessment", list(labels), format_func=labels.get, key="coord_pick")
    if did is None:
        st.info("Choose an assessment.")
        return
    note = svc.store.draft(did)
    aid = note["assessment_id"]
    assessment = svc.store.assessment(aid)
    mapping = svc.store.redaction_map(aid)
    outputs = [svc.store.draft(o["id"]) for o in svc.store.drafts_for(aid) if o["template"] in COORDINATOR_TEMPLATES]
    since = next(v["created_at"] for v in svc.store.version_stamps(did) if v["version"] == note["version"])
    # a note is only approved as it was saved, so what was drafted after its version was saved was drafted from it
    drafted = {o["id"]: svc.store.version_stamps(o["id"])[0] for o in outputs}
    from_this = [o for o in outputs if drafted[o["id"]]["created_at"] >= since]
    earlier = {o["id"] for o in outputs} - {o["id"] for o in from_this}

    if flash := st.session_state.pop("coord_flash", None):
        st.success(flash)
    if note["status"] in APPROVED:
        draft_panel(note, assessment, from_this, drafted, me)
    else:
        st.info(
            f"The assessment note is now {review.STATUS_LABELS.get(note['status'], note['status']).lower()} "
            f"(version {note['version']}): new care-plan entries and letters can be drafted once a supervisor "
            "approves it again. What was made from it before is below."
        )

    reidentify = can(me["role"], "reidentify") and st.toggle(
        "Put the person's details back in exports (uses the local redaction map; recorded in the audit trail)",
        key="coord_reidentify",
    )
    documents = [(OUTPUTS.get(o["template"], o["template"]), o) for o in outputs]
    if note["status"] in APPROVED:
        documents.insert(0, ("Approved assessment note", note))
    for title, draft in documents:
        expanded = draft["id"] == st.session_state.get("coord_output")
        with st.expander(f"{title} (version {draft['version']})", expanded=expanded):
            if draft["id"] in earlier:
                st.caption(f"Drafted from an earlier version of the assessment note (now version {note['version']}).")
            if done := st.session_state.pop(f"coord-done-{draft['id']}", None):
                st.success(done)
            if same := st.session_state.pop(f"coord-same-{draft['id']}", None):
                st.info(same)
            for heading, text in export.sections_of(draft, mapping):
                st.markdown(f"**{heading}**")
                st.code(text, language=None, wrap_lines=True)  # the code block has a copy button
            if draft["status"] in export.EXPORTABLE:
                export_buttons(draft, assessment, mapping, reidentify, me)
            else:
                review_panel(draft, me)


def draft_panel(
    note: dict[str, Any],
    assessment: dict[str, Any],
    from_this: list[dict[str, Any]],
    drafted: dict[str, dict[str, Any]],
    me: dict[str, str],
) -> None:
    """Draft a care-plan entry or letter from the approved note; one already drafted from this version of the note
    is offered first, and another is drafted only when asked for (a second click on Draft is no second draft)."""
    svc = services()
    did, aid = note["id"], note["assessment_id"]
    kind = st.radio("Make", list(OUTPUTS), format_func=OUTPUTS.get, horizontal=True, key="coord_kind")
    same = [o for o in from_this if o["template"] == kind]
    if same:
        latest = same[0]  # the most recently changed
        made = drafted[latest["id"]]
        st.info(
            f"{NAMES[kind]} already drafted from version {note['version']} of this note, by {made['author']} "
            f"on {made['created_at'].astimezone(LOCAL_TIME):%d %b %Y %H:%M}: it is below."
        )
        left, right = st.columns(2)
        left.button("Open it", key="coord_open", on_click=open_output, args=(latest["id"],))
        make = right.button(f"Draft another {NAMES[kind].lower()}", key="coord_make_another")
    else:
        make = st.button(f"Draft {OUTPUTS[kind].lower()}", type="primary", key="coord_make")
    if not make:
        return
    # the transcript the approved note was drafted from, even if the OT has replaced it since
    data = svc.store.latest_transcript(aid, as_of=review.drafted_at(svc.store, did))
    if data is None:
        st.error("This assessment has no transcript to draft from.")
        return
    transcript = Transcript.model_validate({k: v for k, v in data.items() if k != "id"})
    try:
        with st.spinner("Drafting…"):
            made_now = svc.draft(
                transcript,
                template=kind,
                known=known_identifiers(assessment["case_details"]),
                assessment_id=aid,
            )
    except ReconnectError as exc:
        st.error(str(exc))
        return
    new_id = svc.store.create_draft(aid, kind, made_now.model_dump(mode="json"), me["username"])
    svc.store.audit(me["username"], "draft", f"draft:{new_id}", {"template": kind, "from": did})
    st.session_state["coord_output"] = new_id
    st.session_state["coord_flash"] = (
        f"{NAMES[kind]} drafted from version {note['version']} of the assessment note: it is open below. "
        "Check it, then submit it for review."
    )
    st.rerun()


def open_output(did: str) -> None:
    """Callback: open this output's box."""
    st.session_state["coord_output"] = did


def review_panel(draft: dict[str, Any], me: dict[str, str]) -> None:
    """An output is checked like the note it comes from: submitted, approved by a supervisor, then exported.

    Sent back for changes, its reviewer's comments show and its sections can be edited and saved here.
    """
    svc = services()
    did = draft["id"]
    st.caption(
        f"{review.STATUS_LABELS.get(draft['status'], draft['status'])}: it can be exported once a supervisor "
        "approves it."
    )
    reviewer_comments(did)
    if error := st.session_state.pop(f"coord-error-{did}", None):
        st.error(error)
    mine = me["username"] == review.owner(svc.store, draft)
    if mine and draft["status"] in EDITABLE:
        sections = [s for s in draft["content"]["sections"] if s.get("status", "drafted") == "drafted"]
        with st.container(border=True):  # expanders cannot nest, and this sits in one
            st.caption("Edit, then save a version before you submit it")
            for section in sections:  # keyed by version: a newer version starts from its own text
                st.text_area(
                    section["title"],
                    value=export.pseudonymise(section["text"], svc.store.redaction_map(draft["assessment_id"])),
                    key=f"coord-edit-{did}-{draft['version']}-{section['id']}",
                )
            st.button(
                "Save version",
                key=f"coord-save-{did}",
                on_click=save_clicked,
                args=(did, draft["version"], [s["id"] for s in sections]),
            )
    if "submit" in review.allowed_steps(me, draft, review.owner(svc.store, draft)):
        edited = [s["id"] for s in draft["content"]["sections"] if s.get("status", "drafted") == "drafted"]
        st.button(
            "Submit for review",
            key=f"coord-submit-{did}",
            on_click=submit_output,
            args=(did, draft["version"], edited if mine and draft["status"] in EDITABLE else []),
        )


def save_output(did: str, version: int, section_ids: list[str]) -> int | None:
    """Callback: save the edited sections as a new version of the one that was on screen.

    Returns the version now current (the same one when nothing was changed), or None when it was not saved.
    """
    svc = services()
    keys = {sid: f"coord-edit-{did}-{version}-{sid}" for sid in section_ids}
    shown = svc.store.version(did, version)["content"]  # the version on screen: versions are never deleted
    texts = {sid: st.session_state[key] for sid, key in keys.items() if key in st.session_state}
    mapping = svc.store.redaction_map(svc.store.draft(did)["assessment_id"])
    before = {s["id"]: export.pseudonymise(s["text"], mapping) for s in shown["sections"]}
    if all(texts[sid] == before.get(sid) for sid in texts):
        return version  # nothing changed: no new version
    try:
        saved = svc.store.save_version(did, review.with_section_text(shown, texts), user()["username"], version)
    except ReconnectError as exc:
        st.session_state[f"coord-error-{did}"] = f"Not saved: {exc}. Your text is still in the boxes."
        return None
    svc.store.audit(user()["username"], "edit", f"draft:{did}", {"version": saved})
    for key in keys.values():  # the boxes of the old version are done with
        st.session_state.pop(key, None)
    return saved


def save_clicked(did: str, version: int, section_ids: list[str]) -> None:
    """Callback of "Save version": save, and say what came of it (its box stays open on the new version)."""
    saved = save_output(did, version, section_ids)
    st.session_state["coord_output"] = did
    if saved == version:
        st.session_state[f"coord-same-{did}"] = f"Nothing was changed: this is still version {version}."
    elif saved is not None:
        st.session_state[f"coord-done-{did}"] = f"Saved version {saved}."


def submit_output(did: str, version: int, section_ids: list[str]) -> None:
    """Callback: save any edits first, then submit that version (refused if the output moved on since)."""
    st.session_state["coord_output"] = did
    current = save_output(did, version, section_ids) if section_ids else version
    if current is None:
        return  # not saved: not submitted either, and the message says why
    try:
        review.submit(services().store, did, user(), read_version=current)
    except ReconnectError as exc:
        st.session_state[f"coord-error-{did}"] = str(exc)
    else:
        st.session_state[f"coord-done-{did}"] = (
            f"Submitted for review (version {current}): it can be exported once a supervisor approves it."
        )


def export_buttons(
    draft: dict[str, Any], assessment: dict[str, Any], mapping: dict[str, str], reidentify: bool, me: dict[str, str]
) -> None:
    doc = export.document(draft, assessment, mapping, reidentify_names=reidentify, user=me)
    for column, fmt in zip(st.columns(len(export.FORMATS)), export.FORMATS, strict=True):
        column.download_button(
            f"Download {fmt.upper()}",
            data=export.render(doc, fmt),
            file_name=export.filename(doc, fmt),
            mime=export.FORMATS[fmt][0],
            key=f"export-{draft['id']}-{fmt}",
            on_click=record_export,
            args=(draft["id"], fmt, reidentify),
        )


def record_export(draft_id: str, fmt: str, reidentified: bool) -> None:
    detail = {"format": fmt, "reidentified": reidentified}
    services().store.audit(user()["username"], "export", f"draft:{draft_id}", detail)
