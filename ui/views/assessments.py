"""The OT workspace: case details, recording, transcript, draft with autosave, submit for review."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import streamlit as st

from assistant import review
from assistant.accounts import can
from assistant.errors import ConflictError, ReconnectError
from assistant.records import Segment, Transcript
from assistant.store import EDITABLE
from ui.common import (
    COORDINATOR_TEMPLATES,
    audit_once,
    evidence_popover,
    known_identifiers,
    reviewer_comments,
    services,
    user,
)
from ui.components.autosave import typing_watcher

SPEAKERS = ["OT", "client", "other", "unknown"]


def page() -> None:
    me = user()
    svc = services()
    st.header("Assessments")
    mine = svc.store.list_assessments(me["username"])
    # the label changes with the count, so the box closes again once an assessment is created
    label = f"New assessment (you have {len(mine)})" if mine else "New assessment"
    with st.expander(label, expanded=not mine), st.form("new_assessment", clear_on_submit=True):
        st.caption("Case details are never sent anywhere: they tell the redaction what to hide.")
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
                    "name": name.strip(),
                    "date_of_birth": dob.strip(),
                    "nhs_number": nhs.strip(),
                    "address": address.strip(),
                    "carers": [c.strip() for c in carers.split(",") if c.strip()],
                }
                aid = svc.store.create_assessment(reference.strip(), me["username"], details)
                svc.store.audit(me["username"], "create", f"assessment:{aid}")
                st.session_state["assessment"] = aid  # open the new one
                st.rerun()
    if not mine:
        st.info("Create an assessment to start.")
        return
    labels = {a["id"]: a["reference"] for a in mine}
    current = st.session_state.get("assessment", mine[0]["id"])
    aid = st.selectbox(
        "Assessment",
        list(labels),
        format_func=labels.get,
        index=list(labels).index(current) if current in labels else 0,
    )  # no key: a new assessment changes the options, so the box starts afresh on it
    st.session_state["assessment"] = aid
    assessment = svc.store.assessment(aid)
    audit_once("view", f"assessment:{aid}")
    known = known_identifiers(assessment["case_details"])

    recording_panel(aid)
    transcript = transcript_panel(aid, known)
    if transcript is not None:
        draft_panel(aid, transcript, known)


# ── 1. recording ────────────────────────────────────────────────────────────
def recording_panel(aid: str) -> None:
    """Widgets are keyed per assessment, so a file chosen for one never shows up under another."""
    if services().store.latest_transcript(aid) is None:
        st.subheader("1. Recording")
        recording_inputs(aid, nested=False)
    else:
        with st.expander("1. Recording: transcribed (upload or paste again to replace the transcript)"):
            recording_inputs(aid, nested=True)


def recording_inputs(aid: str, nested: bool) -> None:
    svc = services()
    left, right = st.columns(2)
    upload = left.file_uploader(
        "Upload a recording", type=["wav", "flac", "mp3", "m4a", "ogg", "webm"], key=f"upload-{aid}"
    )
    recorded = right.audio_input("Or record in the browser", key=f"record-{aid}")
    audio = upload or recorded
    if audio is not None and st.button("Transcribe", type="primary", key=f"transcribe-{aid}"):
        name = getattr(audio, "name", "") or "recording.wav"
        data = audio.getvalue()
        seen: list[float] = []
        bar = st.progress(0.0, text="Transcribing…")

        def progress(fraction: float) -> None:
            seen.append(fraction)
            bar.progress(min(1.0, max(0.0, fraction)), text=f"Transcribing… {fraction:.0%}")

        try:
            transcript, tid = svc.transcribe_recording(aid, name, data, progress=progress)
        except ReconnectError as exc:
            bar.empty()
            st.error(str(exc))
            return
        st.session_state["progress_seen"] = seen
        st.session_state[f"audio-{tid}"] = data  # this session only, for playback
        svc.store.audit(user()["username"], "transcribe", f"assessment:{aid}", {"seconds": transcript.duration})
        bar.progress(1.0, text=f"Transcribed {transcript.duration:.0f} s of audio")
    with st.container(border=True) if nested else st.expander("Or paste a transcript"):  # expanders may not nest
        pasted = st.text_area("One turn a line, e.g. 'OT: …' / 'Client: …'", key=f"pasted-{aid}")
        if pasted.strip() and st.button("Use this transcript", key=f"use-pasted-{aid}"):
            svc.store.save_transcript(aid, Transcript.from_text(pasted).model_dump(mode="json"))
            svc.store.audit(user()["username"], "transcript_pasted", f"assessment:{aid}")
            st.rerun()


# ── 2. transcript ───────────────────────────────────────────────────────────
def transcript_panel(aid: str, known: list[str]) -> Transcript | None:
    svc = services()
    me = user()
    data = svc.store.latest_transcript(aid)
    if data is None:
        return None
    tid = data["id"]
    transcript = Transcript.model_validate({k: v for k, v in data.items() if k != "id"})
    st.subheader("2. Transcript")
    for warning in transcript.warnings:
        st.warning(warning)
    cache_key = f"redacted-{tid}-{[s.speaker for s in transcript.segments]}"
    if cache_key not in st.session_state:
        redacted, mapping = svc.redact_transcript(transcript, known, svc.store.redaction_map(aid))
        svc.store.save_redaction_map(aid, mapping)
        st.session_state[cache_key] = redacted
    redacted = st.session_state[cache_key]
    show_original = can(me["role"], "view_original") and st.toggle("Show original (not redacted)", key="original")
    if show_original:
        audit_once("view_original", f"transcript:{tid}")
    for segment in transcript.segments if show_original else redacted.segments:
        st.markdown(segment_line(segment))

    with st.expander("Correct a speaker label or play from a segment"):
        choice = st.selectbox(
            "Segment",
            [s.id for s in transcript.segments],
            format_func=lambda i: f"{i}: {redacted.segments[i].text[:60]}",
            key="segment_choice",
        )
        segment = transcript.segments[choice]
        new_label = st.selectbox("Speaker", SPEAKERS, index=SPEAKERS.index(segment.speaker), key="speaker_choice")
        if st.button("Change label", key="change_speaker") and new_label != segment.speaker:
            svc.store.set_speaker(tid, choice, new_label)
            svc.store.audit(me["username"], "speaker_corrected", f"transcript:{tid}", {"segment": choice})
            st.rerun()
        audio = playable_audio(aid, tid)
        if audio is not None:
            st.audio(audio, start_time=int(segment.start))
        else:
            st.caption("The recording is no longer kept (see RECONNECT_KEEP_AUDIO_DAYS).")
    return transcript


def segment_line(segment: Segment) -> str:
    import re

    text = re.sub(r"(\[[A-Z_]+_\d+\])", r":orange-background[\1]", segment.text)
    inferred = " (inferred)" if segment.speaker_inferred else ""
    flag = " ⚠️ check this" if segment.low_confidence else ""
    return f"`{segment.start:6.1f}s` **{segment.speaker}**{inferred}: {text}{flag}"


def playable_audio(aid: str, tid: str) -> Any:
    if f"audio-{tid}" in st.session_state:
        return st.session_state[f"audio-{tid}"]
    for recording in services().store.recordings_for(aid):
        if recording["path"] and Path(recording["path"]).exists():
            return recording["path"]
    return None


# ── 3. draft ────────────────────────────────────────────────────────────────
def draft_panel(aid: str, transcript: Transcript, known: list[str]) -> None:
    svc = services()
    me = user()
    st.subheader("3. Draft")
    drafts = [d for d in svc.store.drafts_for(aid) if d["template"] not in COORDINATOR_TEMPLATES]
    if not drafts:
        if st.button("Draft assessment note", type="primary", key="make_draft"):
            try:
                with st.spinner("Drafting…"):
                    draft = svc.draft(transcript, known=known, assessment_id=aid)
            except ReconnectError as exc:  # a model that is missing, refuses or is blocked: say so, keep the page
                st.error(f"Could not draft the note: {exc}")
                return
            did = svc.store.create_draft(aid, draft.template, draft.model_dump(mode="json"), me["username"])
            svc.store.audit(me["username"], "draft", f"draft:{did}")
            st.rerun()
        return
    draft = svc.store.draft(drafts[0]["id"])
    did = draft["id"]
    audit_once("view", f"draft:{did}")
    st.caption(f"Status: **{review.STATUS_LABELS.get(draft['status'], draft['status'])}** · version {draft['version']}")
    redraft_panel(aid, draft, transcript, known)
    reviewer_comments(did)

    editable = draft["status"] in EDITABLE
    if editable:
        editor(draft)
    else:
        for section in draft["content"]["sections"]:
            if section.get("status", "drafted") == "drafted":
                st.markdown(f"**{section['title']}**\n\n{section['text']}")
        missing = [s["title"] for s in draft["content"]["sections"] if s.get("status", "drafted") != "drafted"]
        if missing:
            st.caption("Not discussed: " + "; ".join(missing))
    goals_panel(draft["content"])

    allowed = review.allowed_steps(me, draft, review.owner(svc.store, draft))
    if "submit" in allowed and st.button("Submit for review", type="primary", key="submit"):
        try:
            saved = not (editable and unsaved_texts(draft)) or save(draft)
            if saved:
                review.submit(svc.store, did, me, read_version=st.session_state.get(f"base-{did}", draft["version"]))
        except ReconnectError as exc:
            st.error(str(exc))
        else:
            if saved:
                st.session_state["flash"] = "Submitted for review."
                st.rerun()
            st.error("Not submitted: your changes could not be saved (see above). Your text is kept.")
    if "amend" in allowed:
        reason = st.text_input("Reason for amending this signed-off note", key="amend_reason")
        if st.button("Amend (starts a new version)", key="amend"):
            try:
                review.amend(svc.store, did, me, reason)
            except ReconnectError as exc:
                st.error(str(exc))
            else:
                st.rerun()
    if flash := st.session_state.pop("flash", None):
        st.success(flash)


def redraft_panel(aid: str, draft: dict[str, Any], transcript: Transcript, known: list[str]) -> None:
    """When the transcript was replaced after the note was drafted, say so; while the note is open, offer to
    redraft it from the new transcript as a new version (the old versions stay)."""
    svc = services()
    did = draft["id"]
    drafted_from = svc.store.latest_transcript(aid, as_of=review.drafted_at(svc.store, did))
    current = svc.store.latest_transcript(aid)
    if drafted_from is None or current is None or drafted_from["id"] == current["id"]:
        return
    st.warning("This note was drafted from an earlier transcript; the transcript above has replaced it.")
    if draft["status"] not in EDITABLE or not st.button("Redraft from this transcript (a new version)", key="redraft"):
        return
    try:
        with st.spinner("Drafting…"):
            fresh = svc.draft(transcript, known=known, assessment_id=aid)
        version = svc.store.save_version(
            did, fresh.model_dump(mode="json"), user()["username"], base_version=draft["version"], note=review.REDRAFTED
        )
    except ReconnectError as exc:
        st.error(f"Not redrafted: {exc}")
        return
    svc.store.audit(user()["username"], "redraft", f"draft:{did}", {"version": version})
    st.session_state.pop(f"base-{did}", None)  # the editor reloads from the new version
    for section in draft["content"]["sections"]:
        st.session_state.pop(editor_key(did, section["id"]), None)
    st.session_state["flash"] = f"Redrafted from the new transcript as version {version}."
    st.rerun()


def editor_key(did: str, sid: str) -> str:
    return f"edit-{did}-{sid}"


def editor(draft: dict[str, Any]) -> None:
    """One text box per section. Every change is autosaved; a reopened session offers the autosave back."""
    svc = services()
    me = user()
    did = draft["id"]
    base_key = f"base-{did}"
    pending = svc.store.autosaved(did, me["username"])
    if base_key not in st.session_state:  # first time this session: load the saved version
        st.session_state[base_key] = draft["version"]
        for section in draft["content"]["sections"]:
            st.session_state[editor_key(did, section["id"])] = section["text"]
    elif any(editor_key(did, s["id"]) not in st.session_state for s in draft["content"]["sections"]):
        # back from another page: Streamlit dropped the boxes' state; the autosave has what was typed
        source = pending["content"] if pending is not None else draft["content"]
        for sid, (_, text) in review.section_texts(source).items():
            st.session_state.setdefault(editor_key(did, sid), text)
    if autosave_typing(draft):  # typing reported while the cursor is still in a box
        pending = svc.store.autosaved(did, me["username"])
    if (
        pending is not None
        and not st.session_state.get(f"restore-decided-{did}")
        and review.section_texts(pending["content"]) != review.section_texts(draft["content"])
    ):
        when = pending["saved_at"].astimezone().strftime("%H:%M:%S")  # local time
        st.info(f"You have unsaved changes from {when} (on version {pending['base_version']}). Restore them?")
        left, right = st.columns(2)
        left.button("Restore my unsaved changes", key="restore", on_click=restore, args=(draft, pending))
        right.button("Discard them", key="discard", on_click=discard, args=(did,))

    sections = draft["content"]["sections"]
    drafted = [s for s in sections if s.get("status", "drafted") == "drafted"]
    for section in drafted:
        section_box(draft, section)
    rest = [s for s in sections if s not in drafted]
    if rest:
        with st.expander(f"Not discussed or for you to fill in ({len(rest)})", expanded=False):
            for section in rest:
                section_box(draft, section)

    conflict = st.session_state.get(f"conflict-{did}")
    if conflict:
        conflict_panel(draft, conflict)
    if st.button("Save version", key="save"):
        save(draft)
        st.rerun()


def section_box(draft: dict[str, Any], section: dict[str, Any]) -> None:
    st.text_area(section["title"], key=editor_key(draft["id"], section["id"]), on_change=autosave, args=(draft,))
    evidence_popover(section)


def current_texts(draft: dict[str, Any]) -> dict[str, str]:
    did = draft["id"]
    return {s["id"]: st.session_state.get(editor_key(did, s["id"]), s["text"]) for s in draft["content"]["sections"]}


def unsaved_texts(draft: dict[str, Any]) -> bool:
    return any(current_texts(draft)[s["id"]] != s["text"] for s in draft["content"]["sections"])


def autosave(draft: dict[str, Any]) -> None:
    """on_change: keep what was typed, so a killed process loses at most the last keystrokes."""
    did = draft["id"]
    content = review.with_section_text(draft["content"], current_texts(draft))
    services().store.autosave(did, user()["username"], st.session_state[f"base-{did}"], content)
    st.session_state[f"restore-decided-{did}"] = True


def autosave_typing(draft: dict[str, Any]) -> bool:
    """A text area reports its value only on leaving the box; the watcher reports ~1.5 s after typing pauses.

    What it reports goes down the same autosave path as on_change (the boxes' own state is left alone, so
    the cursor and anything typed since stay put). Returns whether it autosaved.
    """
    did = draft["id"]
    sections = draft["content"]["sections"]
    held = current_texts(draft)
    report = typing_watcher({s["title"]: s["id"] for s in sections}, held, key=f"typing-{did}")
    seen_key = f"typing-seen-{did}"
    if report is None or report["stamp"] == st.session_state.get(seen_key):
        return False
    st.session_state[seen_key] = report["stamp"]
    texts = dict(held)
    texts.update({sid: str(text) for sid, text in report["texts"].items() if sid in texts})
    content = review.with_section_text(draft["content"], texts)
    services().store.autosave(did, user()["username"], st.session_state[f"base-{did}"], content)
    st.session_state[f"restore-decided-{did}"] = True
    return True


def restore(draft: dict[str, Any], pending: dict[str, Any]) -> None:
    did = draft["id"]
    for sid, (_, text) in review.section_texts(pending["content"]).items():
        if sid != "goals":
            st.session_state[editor_key(did, sid)] = text
    st.session_state[f"base-{did}"] = pending["base_version"]
    st.session_state[f"restore-decided-{did}"] = True
    services().store.audit(user()["username"], "autosave_restored", f"draft:{did}")


def discard(did: str) -> None:
    st.session_state[f"restore-decided-{did}"] = True


def save(draft: dict[str, Any]) -> bool:
    """Save the OT's text as a new version; False (with the text kept in an autosave) when someone saved first."""
    svc = services()
    me = user()
    did = draft["id"]
    base = st.session_state[f"base-{did}"]
    mine = review.with_section_text(_version(did, base), current_texts(draft))
    try:
        version = svc.store.save_version(did, mine, me["username"], base_version=base)
    except ConflictError as exc:
        st.session_state[f"conflict-{did}"] = str(exc)
        svc.store.autosave(did, me["username"], base, mine)  # my text is safe whatever happens next
        return False
    st.session_state[f"base-{did}"] = version
    st.session_state.pop(f"conflict-{did}", None)
    svc.store.audit(me["username"], "edit", f"draft:{did}", {"version": version})
    st.session_state["flash"] = f"Saved version {version}."
    return True


def _version(did: str, version: int) -> dict[str, Any]:
    for v in services().store.versions(did):
        if v["version"] == version:
            return v["content"]  # type: ignore[no-any-return]
    raise ConflictError(f"version {version} of this draft is missing")


def conflict_panel(draft: dict[str, Any], message: str) -> None:
    """Someone else saved first. Show what they changed; merge keeps both, nothing is overwritten."""
    did = draft["id"]
    base = st.session_state[f"base-{did}"]
    mine = review.with_section_text(_version(did, base), current_texts(draft))
    _, clashes = review.merge(_version(did, base), mine, draft["content"])
    st.error(f"Not saved: {message}. Your text is kept.")
    theirs = review.section_texts(draft["content"])
    for sid in clashes:
        st.markdown(f"**{theirs[sid][0]}** — their version (yours is in the box above):")
        st.code(theirs[sid][1], language=None)
    st.button("Merge and save", key="merge", type="primary", on_click=merge_and_save, args=(draft,))


def merge_and_save(draft: dict[str, Any]) -> None:
    did = draft["id"]
    latest = services().store.draft(did)
    base = st.session_state[f"base-{did}"]
    mine = review.with_section_text(_version(did, base), current_texts(draft))
    merged, clashes = review.merge(_version(did, base), mine, latest["content"])
    try:
        version = services().store.save_version(did, merged, user()["username"], base_version=latest["version"])
    except ConflictError as exc:
        st.session_state[f"conflict-{did}"] = str(exc)
        return
    services().store.audit(user()["username"], "merge", f"draft:{did}", {"version": version, "clashes": clashes})
    for sid, (_, text) in review.section_texts(merged).items():
        if sid != "goals":
            st.session_state[editor_key(did, sid)] = text
    st.session_state[f"base-{did}"] = version
    st.session_state.pop(f"conflict-{did}", None)
    st.session_state["flash"] = f"Merged and saved version {version}."


def goals_panel(content: dict[str, Any]) -> None:
    goals = content.get("goals") or []
    if not goals:
        return
    st.markdown("**SMART goals**")
    for goal in goals:
        flag = f" ⚠️ {goal['flagged']}" if goal.get("flagged") else ""
        st.markdown(f"- {goal['text']}{flag}")
    if st.button("Suggest local activities for these goals", key="suggest"):
        found: list[tuple[str, list[Any]]] = []
        for goal in goals[:3]:
            answer, _ = services().ask(goal.get("activity") or goal["text"], k=3)
            found.append((goal["text"], answer.results))
        st.session_state["suggestions"] = found
    for goal_text, results in st.session_state.get("suggestions", []):
        st.caption(f"For: {goal_text}")
        for match in results:
            st.markdown(f"- **{match.name}** ({match.town}) — {match.why}")
