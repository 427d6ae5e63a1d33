"""The coordinator: from an approved assessment, care-plan entries and letters, copied or exported."""

from __future__ import annotations

from typing import Any

import streamlit as st

from assistant import export, review
from assistant.accounts import can
from assistant.errors import ReconnectError
from assistant.records import Transcript
from ui.common import COORDINATOR_TEMPLATES, audit_once, known_identifiers, services, user

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
        data = svc.store.latest_transcript(aid)
        heard_at = svc.store.latest_transcript_at(aid)
        if data is None:
            st.error("This assessment has no transcript to draft from.")
        elif heard_at is not None and heard_at > svc.store.versions(did)[0]["created_at"]:
            st.error(
                "The transcript was replaced after the approved note was drafted, so it is not what the supervisor "
                "approved. Ask the OT to redraft the note from it and have it approved first."
            )
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
                export_buttons(draft, assessment, mapping, reidentify)
            else:
                review_panel(draft, me)


def review_panel(draft: dict[str, Any], me: dict[str, str]) -> None:
    """An output is checked like the note it comes from: submitted, approved by a supervisor, then exported."""
    st.caption(
        f"{review.STATUS_LABELS.get(draft['status'], draft['status'])}: it can be exported once a supervisor "
        "approves it."
    )
    may_submit = "submit" in review.allowed_steps(me, draft, review.owner(services().store, draft))
    if may_submit and st.button("Submit for review", key=f"coord-submit-{draft['id']}"):
        try:
            review.submit(services().store, draft["id"], me, read_version=draft["version"])
        except ReconnectError as exc:
            st.error(str(exc))
        else:
            st.rerun()


def export_buttons(
    draft: dict[str, Any], assessment: dict[str, Any], mapping: dict[str, str], reidentify: bool
) -> None:
    doc = export.document(draft, assessment, mapping, reidentify_names=reidentify)
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
