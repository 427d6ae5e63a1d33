"""The coordinator: from an approved assessment, care-plan entries and letters, copied or exported."""

from __future__ import annotations

from typing import Any

import streamlit as st

from assistant import export, review
from assistant.accounts import can
from assistant.errors import ReconnectError
from assistant.records import Transcript
from assistant.store import EDITABLE
from ui.common import COORDINATOR_TEMPLATES, audit_once, known_identifiers, reviewer_comments, services, user

OUTPUTS = {"care_plan_entry": "Care-plan entry", "supporting_letter": "Supporting letter (e.g. bus pass)"}


def page() -> None:
    svc = services()
    me = user()
    st.header("Care plans and letters")
    approved = [
        d
        for d in svc.store.list_drafts()
        if d["status"] in ("approved", "signed_off") and d["template"] not in COORDINATOR_TEMPLATES
    ]
    audit_once("view", "coordinator_outputs")
    if not approved:
        st.info("No approved assessments yet. They appear here once a supervisor approves them.")
        return
    labels = {d["id"]: f"{d['reference']} — {d['status'].replace('_', ' ')} — version {d['version']}" for d in approved}
    did = st.selectbox("Approved assessment", list(labels), format_func=labels.get, key="coord_pick")
    note = svc.store.draft(did)
    aid = note["assessment_id"]
    assessment = svc.store.assessment(aid)
    mapping = svc.store.redaction_map(aid)

    kind = st.radio("Make", list(OUTPUTS), format_func=OUTPUTS.get, horizontal=True, key="coord_kind")
    if st.button(f"Draft {OUTPUTS[kind].lower()}", type="primary", key="coord_make"):
        # the transcript the approved note was drafted from, even if the OT has replaced it since
        data = svc.store.latest_transcript(aid, as_of=review.drafted_at(svc.store, did))
        if data is None:
            st.error("This assessment has no transcript to draft from.")
        else:
            transcript = Transcript.model_validate({k: v for k, v in data.items() if k != "id"})
            try:
                with st.spinner("Drafting…"):
                    made = svc.draft(
                        transcript,
                        template=kind,
                        known=known_identifiers(assessment["case_details"]),
                        assessment_id=aid,
                    )
            except ReconnectError as exc:
                st.error(str(exc))
            else:
                new_id = svc.store.create_draft(aid, kind, made.model_dump(mode="json"), me["username"])
                svc.store.audit(me["username"], "draft", f"draft:{new_id}", {"template": kind, "from": did})
                st.session_state["coord_output"] = new_id

    outputs = [d for d in svc.store.drafts_for(aid) if d["template"] in COORDINATOR_TEMPLATES]
    reidentify = can(me["role"], "reidentify") and st.toggle(
        "Put the person's details back in exports (uses the local redaction map; recorded in the audit trail)",
        key="coord_reidentify",
    )
    documents: list[tuple[str, dict[str, Any]]] = [("Approved assessment note", note)]
    documents += [(OUTPUTS.get(o["template"], o["template"]), svc.store.draft(o["id"])) for o in outputs]
    for title, draft in documents:
        expanded = draft["id"] == st.session_state.get("coord_output")
        with st.expander(f"{title} (version {draft['version']})", expanded=expanded):
            for heading, text in export.sections_of(draft, mapping):
                st.markdown(f"**{heading}**")
                st.code(text, language=None, wrap_lines=True)  # the code block has a copy button
            if draft["status"] in export.EXPORTABLE:
                export_buttons(draft, assessment, mapping, reidentify, me)
            else:
                review_panel(draft, me)


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
                on_click=save_output,
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
    shown = next(v["content"] for v in svc.store.versions(did) if v["version"] == version)
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


def submit_output(did: str, version: int, section_ids: list[str]) -> None:
    """Callback: save any edits first, then submit that version (refused if the output moved on since)."""
    current = save_output(did, version, section_ids) if section_ids else version
    if current is None:
        return  # not saved: not submitted either, and the message says why
    try:
        review.submit(services().store, did, user(), read_version=current)
    except ReconnectError as exc:
        st.session_state[f"coord-error-{did}"] = str(exc)


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
