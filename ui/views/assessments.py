"""The OT workspace: case details, recording, transcript, draft with autosave, submit for review."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

import streamlit as st

from assistant import review
from assistant.accounts import can
from assistant.directory import LOCAL_TIME
from assistant.drafting import NOT_DISCUSSED
from assistant.errors import ConflictError, ReconnectError, StoreError
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
    st.header("Assessments")
    mine = services().store.list_assessments(user()["username"])
    new_assessment_form(mine)
    if not mine:
        st.info("Create an assessment to start.")
        return
    aid = pick_assessment(mine)
    assessment = services().store.assessment(aid)
    audit_once("view", f"assessment:{aid}")
    known = known_identifiers(assessment["case_details"])

    recording_panel(aid)
    transcript = transcript_panel(aid, known)
    if transcript is not None:
        draft_panel(aid, transcript, known)


def new_assessment_form(mine: list[dict[str, Any]]) -> None:
    """Case details for a new assessment. What was typed stays until the assessment is created (a missing or
    taken reference says so and keeps the rest); the boxes are emptied once it is."""
    svc = services()
    me = user()
    form = st.session_state.setdefault("new-assessment", 0)  # a new number: new, empty boxes
    # the label changes with the count, so the box closes again once an assessment is created
    label = f"New assessment (you have {len(mine)})" if mine else "New assessment"
    with st.expander(label, expanded=not mine), st.form("new_assessment"):
        st.caption("Case details are never sent anywhere: they tell the redaction what to hide.")
        reference = st.text_input("Reference", placeholder="e.g. RC-2026-0142", key=f"new-reference-{form}")
        name = st.text_input("Client's name", key=f"new-name-{form}")
        dob = st.text_input("Date of birth", key=f"new-dob-{form}")
        nhs = st.text_input("NHS number", key=f"new-nhs-{form}")
        address = st.text_input("Address and postcode", key=f"new-address-{form}")
        carers = st.text_input("Carers' or family names (comma separated)", key=f"new-carers-{form}")
        if not st.form_submit_button("Create", type="primary"):
            return
        problem = reference_problem(reference)
        if problem:
            st.error(problem)
            return
        details = {
            "name": name.strip(),
            "date_of_birth": dob.strip(),
            "nhs_number": nhs.strip(),
            "address": address.strip(),
            "carers": [c.strip() for c in carers.split(",") if c.strip()],
        }
        try:  # checked again under the store's write lock: another OT may have just taken it
            aid = svc.store.create_assessment(reference, me["username"], details)
        except StoreError as exc:
            st.error(f"{str(exc)[0].upper()}{str(exc)[1:]}. Use another.")
            return
        svc.store.audit(me["username"], "create", f"assessment:{aid}")
        st.session_state["new-assessment"] = form + 1
        st.session_state["assessment"] = st.session_state["assessment_pick"] = aid  # open the new one
        st.rerun()


def reference_problem(reference: str) -> str | None:
    """Why this reference will not do (missing, or another assessment has it), or None."""
    wanted = reference.strip()
    if not wanted:
        return "Give the assessment a reference."
    other = services().store.assessment_with_reference(wanted)
    if other is None:
        return None
    where = "pick it under Assessment below" if other["ot"] == user()["username"] else "another OT's"
    return f"An assessment with reference {other['reference']} already exists ({where}). Use another."


def pick_assessment(mine: list[dict[str, Any]]) -> str:
    """The assessment open on the page. The box is keyed, so each pick takes effect at once; the choice is also
    kept under "assessment", which outlives the box while the OT is on another page."""
    labels = picker_labels(mine)
    if st.session_state.get("assessment_pick") not in labels:  # first time, back from another page, or gone
        kept = st.session_state.get("assessment")
        st.session_state["assessment_pick"] = kept if kept in labels else next(iter(labels))
    aid = str(st.selectbox("Assessment", list(labels), format_func=lambda i: labels[i], key="assessment_pick"))
    st.session_state["assessment"] = aid
    return aid


def picker_labels(mine: list[dict[str, Any]]) -> dict[str, str]:
    """id -> reference, with the day it was created where two share a reference."""
    refs = [a["reference"] for a in mine]
    when = {
        a["id"]: f" ({a['created_at'].astimezone(LOCAL_TIME):%d %b %Y %H:%M})"
        for a in mine
        if refs.count(a["reference"]) > 1
    }
    return {a["id"]: a["reference"] + when.get(a["id"], "") for a in mine}


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
    left, right = st.columns(2)
    upload = left.file_uploader(
        "Upload a recording", type=["wav", "flac", "mp3", "m4a", "ogg", "webm"], key=f"upload-{aid}"
    )
    recorded = right.audio_input("Or record in the browser", key=f"record-{aid}")
    asked: list[bool] = []

    def allowed() -> bool:  # the question is drawn once, and only when there is something to use
        if not asked:
            asked.append(may_replace(aid))
        return asked[0]

    audio = upload or recorded
    if audio is not None:
        data = audio.getvalue()
        if fingerprint(data) == st.session_state.get(f"transcribed-{aid}"):
            st.caption("This recording is the transcript below. Upload or record another to replace it.")
        elif st.button("Transcribe", type="primary", key=f"transcribe-{aid}", disabled=not allowed()):
            transcribe(aid, getattr(audio, "name", "") or "recording.wav", data)
    with st.container(border=True) if nested else st.expander("Or paste a transcript"):  # expanders may not nest
        pasted = st.text_area("One turn a line, e.g. 'OT: …' / 'Client: …'", key=f"pasted-{aid}")
        if not pasted.strip():
            return
        if fingerprint(pasted.encode()) == st.session_state.get(f"transcribed-{aid}"):
            st.caption("This text is the transcript below.")
        elif st.button("Use this transcript", key=f"use-pasted-{aid}", disabled=not allowed()):
            services().store.save_transcript(aid, Transcript.from_text(pasted).model_dump(mode="json"))
            services().store.audit(user()["username"], "transcript_pasted", f"assessment:{aid}")
            st.session_state[f"transcribed-{aid}"] = fingerprint(pasted.encode())
            st.rerun()


def fingerprint(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def may_replace(aid: str) -> bool:
    """Whether a new transcript may replace this assessment's. Once its note is submitted, approved or signed
    off, only after the OT ticks a box that says what replacing it does."""
    notes = [d for d in services().store.drafts_for(aid) if d["template"] not in COORDINATOR_TEMPLATES]
    if not notes or notes[0]["status"] in EDITABLE:
        return True
    status = review.STATUS_LABELS.get(notes[0]["status"], notes[0]["status"]).lower()
    return st.checkbox(
        f"Replace the transcript although the note is {status} (the note keeps its text, and will say it was "
        "drafted from an earlier transcript)",
        key=f"replace-ok-{aid}",
    )


def transcribe(aid: str, name: str, data: bytes) -> None:
    svc = services()
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
    st.session_state[f"transcribed-{aid}"] = fingerprint(data)  # the same recording is not transcribed again
    svc.store.audit(user()["username"], "transcribe", f"assessment:{aid}", {"seconds": transcript.duration})
    bar.progress(1.0, text=f"Transcribed {transcript.duration:.0f} s of audio")


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
            key=f"segment-{tid}",
        )
        segment = transcript.segments[choice]
        # keyed by the segment and its stored speaker, so the box starts at that segment's speaker each time
        new_label = st.selectbox(
            "Speaker",
            SPEAKERS,
            index=SPEAKERS.index(segment.speaker),
            key=f"speaker-{tid}-{choice}-{segment.speaker}",
        )
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
    if not editable and st.session_state.get(f"editing-{did}"):
        left_editing(draft)
    kept_panel(did)
    if editable:
        editor(draft)
    else:
        for section in draft["content"]["sections"]:
            if section.get("status", "drafted") == "drafted":
                st.markdown(f"**{section['title']}**\n\n{section['text']}")
        missing = [s["title"] for s in draft["content"]["sections"] if s.get("status", "drafted") != "drafted"]
        if missing:
            st.caption("Not discussed: " + "; ".join(missing))
    goals_panel(aid, draft)

    allowed = review.allowed_steps(me, draft, review.owner(svc.store, draft))
    if "submit" in allowed:
        st.button("Submit for review", type="primary", key="submit", on_click=submit, args=(draft, editable))
    if problem := st.session_state.pop(f"submit-error-{did}", None):
        st.error(problem)
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


def submit(draft: dict[str, Any], editable: bool) -> None:
    """on_click: save what was typed, then submit that version. Runs before the page is drawn, so a save that
    meets a colleague's shows its conflict panel (with Merge and save) in the same run."""
    did = draft["id"]
    try:
        saved = not (editable and unsaved_texts(draft)) or save(draft)
        if saved:
            base = st.session_state.get(f"base-{did}", draft["version"])
            review.submit(services().store, did, user(), read_version=base)
    except ReconnectError as exc:
        st.session_state[f"submit-error-{did}"] = f"Not submitted: {exc}"
        return
    if not saved:
        st.session_state[f"submit-error-{did}"] = (
            "Not submitted: your changes could not be saved (see above). Your text is kept."
        )
        return
    st.session_state.pop(f"editing-{did}", None)  # submitted here: nothing to tell this page
    st.session_state["flash"] = "Submitted for review."


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


def box_texts(content: dict[str, Any]) -> dict[str, str]:
    """section id -> text: what the editor's boxes hold (the drafted SMART goals are not a box)."""
    return {s["id"]: s.get("text", "") for s in content.get("sections", [])}


def editor(draft: dict[str, Any]) -> None:
    """One text box per section. Every change is autosaved; an autosave is offered back, never put in unasked."""
    did = draft["id"]
    st.session_state[f"editing-{did}"] = True  # one mark per note: open another and come back, it still counts
    if f"base-{did}" not in st.session_state or any(
        editor_key(did, s["id"]) not in st.session_state for s in draft["content"]["sections"]
    ):
        load(draft)
    autosave_typing(draft)  # typing reported while the cursor is still in a box
    offer_autosave(draft)

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
    st.button("Save version", key="save", on_click=save_clicked, args=(draft,))


def load(draft: dict[str, Any]) -> None:
    """Fill the boxes from the saved version: the first time this session, or after Streamlit dropped them
    (another page or assessment, or the note away for review). An autosave is only ever offered (offer_autosave)."""
    did = draft["id"]
    st.session_state[f"base-{did}"] = draft["version"]
    for sid, text in box_texts(draft["content"]).items():
        st.session_state[editor_key(did, sid)] = text
    st.session_state.pop(f"restore-decided-{did}", None)
    st.session_state.pop(f"conflict-{did}", None)


def offer_autosave(draft: dict[str, Any]) -> None:
    """Offer back unsaved typing this user's autosave holds, if it was made on this version and differs from it.
    One made on an earlier version is shown to copy from instead: putting it back would undo what was saved since."""
    did = draft["id"]
    pending = services().store.autosaved(did, user()["username"])
    if pending is None or st.session_state.get(f"restore-decided-{did}"):
        return
    if pending["base_version"] != draft["version"]:
        keep_stale(draft, pending)
        return
    if box_texts(pending["content"]) == box_texts(draft["content"]):
        return
    when, base = local_time(pending), pending["base_version"]
    st.info(f"You have unsaved changes from {when} (on version {base}). Restore them?")
    left, right = st.columns(2)
    left.button("Restore my unsaved changes", key="restore", on_click=restore, args=(draft, pending))
    right.button("Discard them", key="discard", on_click=discard, args=(did,))


def local_time(pending: dict[str, Any]) -> str:
    return str(pending["saved_at"].astimezone(LOCAL_TIME).strftime("%H:%M:%S"))


def keep_stale(draft: dict[str, Any], pending: dict[str, Any]) -> None:
    """An autosave made on an earlier version: keep what it changed on screen, to copy from, until dismissed."""
    did = draft["id"]
    st.session_state[f"restore-decided-{did}"] = True
    typed = changed_since(did, pending["base_version"], box_texts(pending["content"]))
    if not typed:  # nothing typed that the version it was made on did not have
        services().store.drop_autosave(did, user()["username"])
        return
    keep(
        did,
        f"You have unsaved changes from {local_time(pending)}, typed on version {pending['base_version']}; the note "
        f"has changed since (it is now version {draft['version']}), so they are not put back in the boxes. Copy "
        "what you still need into the boxes below.",
        typed,
        autosave_base=pending["base_version"],
    )


def left_editing(draft: dict[str, Any]) -> None:
    """The note stopped being editable while open here (submitted in another tab, or by someone else): say so,
    and keep what was typed and not saved on screen, to copy (a note away for review takes no autosave)."""
    did = draft["id"]
    st.session_state.pop(f"editing-{did}", None)
    typed = unsaved_typing(draft)
    copy = " What you typed here and had not saved is below: copy what you need." if typed else ""
    keep(did, f"{moved_by(draft)} while it was open here, so it can no longer be edited.{copy}", typed)


def unsaved_typing(draft: dict[str, Any]) -> dict[str, str]:
    """title -> text of each box that differs from the version it was opened on (none once the boxes are gone)."""
    did = draft["id"]
    base = st.session_state.get(f"base-{did}")
    if base is None:
        return {}
    boxes = {s["id"]: editor_key(did, s["id"]) for s in draft["content"]["sections"]}
    typed = {sid: str(st.session_state[key]) for sid, key in boxes.items() if key in st.session_state}
    return changed_since(did, base, typed)


def changed_since(did: str, base: int, texts: dict[str, str]) -> dict[str, str]:
    """title -> text of each section whose text in ``texts`` (section id -> text) differs from version ``base``."""
    return {
        s["title"]: texts[s["id"]]
        for s in _version(did, base)["sections"]
        if s["id"] in texts and texts[s["id"]] != s.get("text", "")
    }


STATUS_PAST = {"submitted": "submitted for review", "approved": "approved", "signed_off": "signed off"}


def moved_by(draft: dict[str, Any]) -> str:
    """'This note was submitted for review by lee', from the note's last review step."""
    steps = [d for d in services().store.decisions(draft["id"]) if d["decision"] in review.STEPS]
    who = steps[-1]["reviewer"] if steps else draft["updated_by"]
    by = "you, in another tab or window," if who == user()["username"] else who
    return f"This note was {STATUS_PAST.get(draft['status'], draft['status'])} by {by}"


def keep(did: str, reason: str, texts: dict[str, str], autosave_base: int | None = None) -> None:
    """Put a message, and text the OT may still need, on screen until they dismiss it."""
    kept = st.session_state.setdefault(f"kept-{did}", [])
    entry = {"reason": reason, "texts": texts, "autosave_base": autosave_base}
    if entry not in kept:  # the same older autosave, met again on the way back to the note, is shown once
        kept.append(entry)


def kept_panel(did: str) -> None:
    kept = st.session_state.get(f"kept-{did}") or []
    if not kept:
        return
    for entry in kept:
        st.warning(entry["reason"])
        for title, text in entry["texts"].items():
            st.markdown(f"**{title}**")
            st.code(text, language=None, wrap_lines=True)
    st.button("Dismiss (I have what I need)", key=f"kept-dismiss-{did}", on_click=dismiss_kept, args=(did,))


def dismiss_kept(did: str) -> None:
    """on_click: clear the kept messages and text, and the earlier version's autosave they came from."""
    me = user()["username"]
    for entry in st.session_state.pop(f"kept-{did}", []):
        pending = services().store.autosaved(did, me)
        if entry["autosave_base"] is not None and pending and pending["base_version"] == entry["autosave_base"]:
            services().store.drop_autosave(did, me)


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
    keep_typing(draft["id"], review.with_section_text(draft["content"], current_texts(draft)))


def keep_typing(did: str, content: dict[str, Any]) -> None:
    """Autosave on the version the boxes were opened on. A note that can no longer be edited takes none: the page
    then says so and shows the typing (left_editing)."""
    try:
        services().store.autosave(did, user()["username"], st.session_state[f"base-{did}"], content)
    except ConflictError:
        return
    st.session_state[f"restore-decided-{did}"] = True


def autosave_typing(draft: dict[str, Any]) -> None:
    """A text area reports its value only on leaving the box; the watcher reports ~1.5 s after typing pauses.

    What it reports goes down the same autosave path as on_change (the boxes' own state is left alone, so
    the cursor and anything typed since stay put).
    """
    did = draft["id"]
    sections = draft["content"]["sections"]
    held = current_texts(draft)
    report = typing_watcher({s["title"]: s["id"] for s in sections}, held, key=f"typing-{did}")
    seen_key = f"typing-seen-{did}"
    if report is None or report["stamp"] == st.session_state.get(seen_key):
        return
    st.session_state[seen_key] = report["stamp"]
    texts = dict(held)
    texts.update({sid: str(text) for sid, text in report["texts"].items() if sid in texts})
    keep_typing(did, review.with_section_text(draft["content"], texts))


def restore(draft: dict[str, Any], pending: dict[str, Any]) -> None:
    did = draft["id"]
    saved = box_texts(pending["content"])
    for sid in box_texts(draft["content"]):
        if sid in saved:
            st.session_state[editor_key(did, sid)] = saved[sid]
    st.session_state[f"base-{did}"] = pending["base_version"]
    st.session_state[f"restore-decided-{did}"] = True
    services().store.audit(user()["username"], "autosave_restored", f"draft:{did}")


def discard(did: str) -> None:
    """on_click: the OT does not want their unsaved changes back: delete them, so they never come back."""
    services().store.drop_autosave(did, user()["username"])
    st.session_state[f"restore-decided-{did}"] = True
    services().store.audit(user()["username"], "autosave_discarded", f"draft:{did}")


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
        keep_typing(did, mine)  # my text is safe whatever happens next
        return False
    st.session_state[f"base-{did}"] = version
    st.session_state.pop(f"conflict-{did}", None)
    svc.store.audit(me["username"], "edit", f"draft:{did}", {"version": version})
    st.session_state["flash"] = f"Saved version {version}."
    return True


def save_clicked(draft: dict[str, Any]) -> None:
    """on_click, so a conflict's panel shows in the same run."""
    save(draft)


def _version(did: str, version: int) -> dict[str, Any]:
    found = services().store.version(did, version)
    if found is None:
        raise ConflictError(f"version {version} of this draft is missing")
    return found["content"]  # type: ignore[no-any-return]


def conflict_panel(draft: dict[str, Any], message: str) -> None:
    """Someone else saved first. Show what they changed; merge keeps both, nothing is overwritten."""
    did = draft["id"]
    base = st.session_state[f"base-{did}"]
    opened = _version(did, base)
    mine = review.with_section_text(opened, current_texts(draft))
    _, clashes = review.merge(opened, mine, draft["content"])
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
    opened = _version(did, base)
    mine = review.with_section_text(opened, current_texts(draft))
    merged, clashes = review.merge(opened, mine, latest["content"])
    try:
        version = services().store.save_version(did, merged, user()["username"], base_version=latest["version"])
    except ConflictError as exc:
        st.session_state[f"conflict-{did}"] = str(exc)
        return
    services().store.audit(user()["username"], "merge", f"draft:{did}", {"version": version, "clashes": clashes})
    for sid, text in box_texts(merged).items():
        st.session_state[editor_key(did, sid)] = text
    st.session_state[f"base-{did}"] = version
    st.session_state.pop(f"conflict-{did}", None)
    st.session_state["flash"] = f"Merged and saved version {version}."


def goals_panel(aid: str, draft: dict[str, Any]) -> None:
    """The note's goals and local activities for them (kept per assessment). A note with a goals section states
    its goals there, in the box above as the OT edits them; the drafted SMART goals are listed only for a note
    without one, as a list beside the box would repeat them or, once edited, contradict them."""
    content = draft["content"]
    drafted = content.get("goals") or []
    section = review.goals_section(content)
    if section is None:
        goals = [(g["text"], g.get("activity") or g["text"]) for g in drafted]
        if goals:
            st.markdown("**SMART goals**")
        for goal in drafted:
            flag = f" ⚠️ {goal['flagged']}" if goal.get("flagged") else ""
            st.markdown(f"- {goal['text']}{flag}")
    else:
        text = str(st.session_state.get(editor_key(draft["id"], section["id"]), section["text"]))
        goals = stated_goals(text, drafted)
        for goal in drafted:
            if goal.get("flagged") and goal["text"] in text:
                st.caption(f"⚠️ {goal['flagged']}: {goal['text']}")
    if not goals:
        return
    if st.button("Suggest local activities for these goals", key="suggest"):
        found: list[tuple[str, list[Any]]] = []
        # a goal line is the OT's text, which may name the person: their case details are redacted too
        known = known_identifiers(services().store.assessment(aid)["case_details"])
        for goal_text, question in goals[:3]:
            answer, _ = services().ask(question, k=3, known=known)
            found.append((goal_text, answer.results))
        st.session_state[f"suggestions-{aid}"] = found
    for goal_text, results in st.session_state.get(f"suggestions-{aid}", []):
        st.caption(f"For: {goal_text}")
        for match in results:
            st.markdown(f"- **{match.name}** ({match.town}) — {match.why}")


def stated_goals(text: str, drafted: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(goal, what to ask for) for each line of a goals section: a drafted goal the line still states is asked
    for by its activity, any other line by its own words."""
    goals = []
    for line in text.splitlines():
        line = re.sub(r"^\s*(?:[-*•]|\d+[.)])\s*", "", line).strip()
        if not line or line == NOT_DISCUSSED:
            continue
        activity = next((g.get("activity") for g in drafted if g["text"] in line and g.get("activity")), None)
        goals.append((line, activity or line))
    return goals
