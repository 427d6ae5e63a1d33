"""Reconnect Assistant in the browser. Thin: it receives the services and calls them.

Run with `make run` (or `reconnect ui`). Streamlit is imported only under ui/.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import streamlit as st

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import assistant  # noqa: F401  (telemetry off first)
from assistant.accounts import authenticate, can
from assistant.errors import ReconnectError
from assistant.services import Services, get_services
from assistant.settings import get_settings

st.set_page_config(page_title="Reconnect Assistant", page_icon="🤝", layout="wide")


@st.cache_resource(show_spinner="Starting the assistant…")
def services() -> Services:
    svc = get_services()
    svc.ensure_sample_directory()
    return svc


def signed_in() -> dict[str, str] | None:
    user = st.session_state.get("user")
    if user is None:
        return None
    idle = time.time() - st.session_state.get("last_seen", 0)
    if idle > get_settings().session_idle_minutes * 60:
        st.session_state.clear()
        st.warning("You were signed out after a period of inactivity. Please sign in again.")
        return None
    st.session_state["last_seen"] = time.time()
    return user  # type: ignore[no-any-return]


def sign_in_page() -> None:
    st.title("Reconnect Assistant")
    st.caption("Assessment notes, SMART goals and local activities, on this machine.")
    with st.form("sign_in"):
        username = st.text_input("Username")
        password = st.text_input("Password", type="password")
        submitted = st.form_submit_button("Sign in", type="primary")
    if submitted:
        user = authenticate(services().store, username.strip(), password)
        if user is None:
            st.error("That username and password do not match.")
        else:
            st.session_state["user"] = user
            st.session_state["last_seen"] = time.time()
            st.rerun()


def ot_workspace() -> None:
    user = st.session_state["user"]
    svc = services()
    st.header("Assessments")
    expanded = not svc.store.list_assessments(user["username"])
    with st.expander("New assessment", expanded=expanded), st.form("new_assessment"):
        reference = st.text_input("Reference", placeholder="e.g. RC-2026-0142")
        name = st.text_input("Client's name")
        dob = st.text_input("Date of birth")
        nhs = st.text_input("NHS number")
        address = st.text_input("Address and postcode")
        carers = st.text_input("Carers' or family names (comma separated)")
        if st.form_submit_button("Create", type="primary"):
            if not reference.strip():
                st.error("Give the assessment a reference.")
            else:
                details = {
                    "name": name,
                    "date_of_birth": dob,
                    "nhs_number": nhs,
                    "address": address,
                    "carers": [c.strip() for c in carers.split(",") if c.strip()],
                }
                aid = svc.store.create_assessment(reference.strip(), user["username"], details)
                svc.store.audit(user["username"], "create", f"assessment:{aid}")
                st.session_state["assessment"] = aid
                st.rerun()
    mine = svc.store.list_assessments(user["username"])
    if not mine:
        st.info("Create an assessment to start.")
        return
    labels = {a["id"]: f"{a['reference']} — {a['status']}" for a in mine}
    current = st.session_state.get("assessment", mine[0]["id"])
    aid = st.selectbox(
        "Assessment",
        list(labels),
        format_func=labels.get,
        index=list(labels).index(current) if current in labels else 0,
    )
    st.session_state["assessment"] = aid
    assessment = svc.store.assessment(aid)
    svc.store.audit(user["username"], "view", f"assessment:{aid}")
    known = known_identifiers(assessment["case_details"])

    st.subheader("1. Recording")
    upload = st.file_uploader("Upload a recording", type=["wav", "flac", "mp3", "m4a", "ogg", "webm"])
    recorded = st.audio_input("Or record in the browser")
    audio = upload or recorded
    if audio is not None and st.button("Transcribe", type="primary"):
        transcribe(svc, aid, audio, user["username"])
    pasted = st.text_area("Or paste a transcript (one turn a line, e.g. 'OT: …' / 'Client: …')")
    if pasted.strip() and st.button("Use this transcript"):
        from assistant.records import Transcript

        svc.store.save_transcript(aid, Transcript.from_text(pasted).model_dump(mode="json"))
        st.rerun()

    transcript_data = svc.store.latest_transcript(aid)
    if transcript_data is None:
        return
    from assistant.records import Transcript

    transcript = Transcript.model_validate({k: v for k, v in transcript_data.items() if k != "id"})
    st.subheader("2. Transcript")
    for warning in transcript.warnings:
        st.warning(warning)
    show_original = can(user["role"], "view_original") and st.toggle("Show original (not redacted)")
    redacted, mapping = svc.redact_transcript(transcript, known, svc.store.redaction_map(aid))
    svc.store.save_redaction_map(aid, mapping)
    shown = transcript if show_original else redacted
    for segment in shown.segments:
        flag = " ⚠️ low confidence" if segment.low_confidence else ""
        st.markdown(
            f"`{segment.start:6.1f}s` **{segment.speaker}**{' (inferred)' if segment.speaker_inferred else ''}: "
            f"{segment.text}{flag}"
        )

    st.subheader("3. Draft")
    if st.button("Draft assessment note"):
        with st.spinner("Drafting…"):
            draft = svc.draft(transcript, known=known)
        did = svc.store.create_draft(aid, draft.template, draft.model_dump(mode="json"), user["username"])
        svc.store.audit(user["username"], "draft", f"draft:{did}")
        st.rerun()
    drafts = svc.store.drafts_for(aid)
    if drafts:
        current_draft = svc.store.draft(drafts[0]["id"])
        for section in current_draft["content"]["sections"]:
            with st.expander(section["title"], expanded=section["status"] == "drafted"):
                st.write(section["text"])
                for ev in section.get("evidence", []):
                    st.caption(
                        f"segment {ev['segment']}: “{ev['quote']}”" + ("" if ev.get("verified") else " ⚠️ not found")
                    )
        if current_draft["status"] == "draft" and st.button("Submit for review"):
            svc.store.set_draft_status(current_draft["id"], "submitted")
            svc.store.audit(user["username"], "submit", f"draft:{current_draft['id']}")
            st.success("Submitted for review.")


def transcribe(svc: Services, aid: str, audio: object, username: str) -> None:
    import tempfile

    name = getattr(audio, "name", "recording.wav") or "recording.wav"
    suffix = Path(name).suffix or ".wav"
    bar = st.progress(0.0, text="Transcribing…")
    with tempfile.NamedTemporaryFile(suffix=suffix, delete=True) as tmp:
        tmp.write(audio.getvalue())  # type: ignore[attr-defined]
        tmp.flush()
        try:
            transcript = svc.transcribe(
                Path(tmp.name), progress=lambda f: bar.progress(min(1.0, f), text="Transcribing…")
            )
        except ReconnectError as exc:
            st.error(str(exc))
            return
    svc.store.save_transcript(aid, transcript.model_dump(mode="json"))
    svc.store.audit(username, "transcribe", f"assessment:{aid}", {"seconds": transcript.duration})
    bar.progress(1.0, text="Done")
    st.rerun()


def known_identifiers(details: dict[str, object]) -> list[str]:
    values: list[str] = []
    for key in ("name", "preferred_name", "date_of_birth", "nhs_number", "address", "postcode", "phone"):
        value = details.get(key)
        if isinstance(value, str) and value.strip():
            values.append(value.strip())
    carers = details.get("carers") or []
    if isinstance(carers, list):
        values += [str(c) for c in carers if str(c).strip()]
    return values


def signposting_page() -> None:
    st.header("Find local activities")
    question = st.chat_input("e.g. accessible swimming with a hoist near Colchester on Tuesday mornings")
    history = st.session_state.setdefault("chat", [])
    for role, text in history:
        st.chat_message(role).write(text)
    if question:
        st.chat_message("user").write(question)
        answer, context = services().ask(question, context=st.session_state.get("chat_context"))
        st.session_state["chat_context"] = context
        st.chat_message("assistant").write(answer.answer)
        history += [("user", question), ("assistant", answer.answer)]


def review_queue() -> None:
    svc = services()
    user = st.session_state["user"]
    st.header("Review queue")
    queue = svc.store.list_drafts("submitted")
    if not queue:
        st.info("Nothing is waiting for review.")
        return
    for item in queue:
        with st.expander(f"{item['reference']} — by {item['ot']} — version {item['version']}"):
            draft = svc.store.draft(item["id"])
            for section in draft["content"]["sections"]:
                st.markdown(f"**{section['title']}**\n\n{section['text']}")
            comment = st.text_area("Comment", key=f"comment-{item['id']}")
            left, right = st.columns(2)
            if left.button("Request changes", key=f"changes-{item['id']}"):
                svc.store.add_decision(item["id"], item["version"], user["username"], "changes_requested", comment)
                svc.store.set_draft_status(item["id"], "changes_requested")
                svc.store.audit(user["username"], "request_changes", f"draft:{item['id']}")
                st.rerun()
            if right.button("Approve and sign off", key=f"approve-{item['id']}", type="primary"):
                svc.store.add_decision(item["id"], item["version"], user["username"], "approved", comment)
                svc.store.set_draft_status(item["id"], "signed_off", signed_off_by=user["username"])
                svc.store.audit(user["username"], "sign_off", f"draft:{item['id']}")
                st.rerun()


def audit_page() -> None:
    svc = services()
    ok, count, problem = svc.store.verify_audit()
    st.header("Audit trail")
    (st.success if ok else st.error)(f"{count} events; chain {'intact' if ok else 'BROKEN: ' + problem}")
    st.dataframe(svc.store.audit_events(limit=200), use_container_width=True)


def main() -> None:
    user = signed_in()
    if user is None:
        sign_in_page()
        return
    with st.sidebar:
        st.write(f"Signed in as **{user['display_name']}** ({user['role']})")
        if st.button("Sign out"):
            st.session_state.clear()
            st.rerun()
    pages = []
    if can(user["role"], "assess"):
        pages.append(st.Page(ot_workspace, title="Assessments", icon="📝", url_path="assessments"))
    if can(user["role"], "review"):
        pages.append(st.Page(review_queue, title="Review queue", icon="✅", url_path="review"))
    if can(user["role"], "ask"):
        pages.append(st.Page(signposting_page, title="Find activities", icon="🏊", url_path="activities"))
    if can(user["role"], "audit"):
        pages.append(st.Page(audit_page, title="Audit trail", icon="🔒", url_path="audit"))
    if not pages:
        st.info("Your role has no pages yet.")
        return
    st.navigation(pages).run()


main()
