"""The app headless through Streamlit's AppTest, on the real services (Whisper, spaCy, MiniLM, SQLite).

One test per role's main flow, plus crash recovery (autosave), two people on one draft,
audio retention and the idle time-out.
"""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from streamlit.testing.v1 import AppTest

from assistant import review
from assistant.records import Transcript
from tests.conftest import JFK, PASSWORD

APP = str(Path(__file__).resolve().parents[1] / "ui" / "app.py")
CONVERSATION = """OT: What would you like help with?
Client: I want to get back to swimming but I can't walk far to the bus stop, it's about two hundred yards.
OT: Would a bus pass help?
Client: Yes, a disabled person's bus pass would mean I could get to the pool on my own.
Client: My daughter Lucy helps me with shopping on Saturdays.
OT: How are you managing the stairs?
Client: I hold the rail and go slowly, my knees are bad."""


def new_app() -> AppTest:
    return AppTest.from_file(APP, default_timeout=240)


def sign_in(at: AppTest, username: str) -> AppTest:
    at.run()
    at.text_input[0].input(username)
    at.text_input[1].input(PASSWORD)
    at.button[0].click()
    at.run()
    assert not at.exception, at.exception
    return at


def field(at: AppTest, label: str) -> Any:
    return next(t for t in at.text_input if t.label == label)


def button(at: AppTest, label: str) -> Any:
    return next(b for b in at.button if b.label == label)


def choose(at: AppTest) -> Any:
    return next(s for s in at.selectbox if s.label == "Assessment")


def texts(at: AppTest) -> str:
    return "\n".join(m.value for m in at.markdown)


def draft_with_transcript(svc: Any, reference: str, status: str = "submitted") -> tuple[str, str]:
    """An assessment by sam with a pasted transcript and an offline draft, taken to ``status``."""
    aid = svc.store.create_assessment(reference, "sam", {"name": "Margaret Ellis", "carers": ["Lucy"]})
    transcript = Transcript.from_text(CONVERSATION.replace("Lucy", "Lucy Ellis"))
    svc.store.save_transcript(aid, transcript.model_dump(mode="json"))
    svc.store.save_redaction_map(aid, {"[PERSON_1]": "Lucy Ellis"})
    content = svc.draft(transcript, known=["Margaret Ellis", "Lucy"]).model_dump(mode="json")
    did = svc.store.create_draft(aid, content["template"], content, "sam")
    sam = {"username": "sam", "role": "ot"}
    lee = {"username": "lee", "role": "supervisor"}
    if status in ("submitted", "approved", "signed_off"):
        review.submit(svc.store, did, sam)
    if status in ("approved", "signed_off"):
        review.approve(svc.store, did, lee)
    if status == "signed_off":
        review.sign_off(svc.store, did, lee)
    return aid, did


# ── sign-in ─────────────────────────────────────────────────────────────────
def test_when_the_app_opens_then_the_sign_in_page_shows(people: Any) -> None:
    at = new_app().run()
    assert not at.exception
    assert at.title[0].value == "Reconnect Assistant"
    assert [t.label for t in at.text_input] == ["Username", "Password"]


def test_when_the_password_is_wrong_then_no_sign_in(people: Any) -> None:
    at = new_app().run()
    at.text_input[0].input("sam")
    at.text_input[1].input("wrong password!")
    at.button[0].click()
    at.run()
    assert at.error and "do not match" in at.error[0].value
    assert "user" not in at.session_state


def test_when_idle_past_the_limit_then_signed_out(people: Any) -> None:
    at = sign_in(new_app(), "sam")
    at.session_state["last_seen"] = 0.0  # long ago
    at.run()
    assert "user" not in at.session_state
    assert any("inactivity" in w.value for w in at.warning)


@pytest.mark.parametrize(
    ("username", "header", "hidden"),
    [
        ("sam", "Assessments", "Review queue"),
        ("lee", "Review queue", "Assessments"),
        ("cam", "Care plans and letters", "Review queue"),
        ("eve", "Evaluation", "Audit trail"),
        ("ada", "Audit trail", "Assessments"),
    ],
)
def test_when_each_role_signs_in_then_it_lands_on_its_own_page_only(
    people: Any, username: str, header: str, hidden: str
) -> None:
    at = sign_in(new_app(), username)
    assert [h.value for h in at.header][:1] == [header]
    assert hidden not in [h.value for h in at.header]


# ── OT ──────────────────────────────────────────────────────────────────────
def test_ot_flow_create_upload_transcribe_correct_draft_edit_submit(people: Any) -> None:
    svc = people
    at = sign_in(new_app(), "sam")
    field(at, "Reference").input("APP-OT-1")
    field(at, "Client's name").input("Margaret Ellis")
    field(at, "Carers' or family names (comma separated)").input("Lucy Ellis")
    button(at, "Create").click()
    at.run()
    assessment = next(a for a in svc.store.list_assessments("sam") if a["reference"] == "APP-OT-1")
    assert assessment["case_details"]["name"] == "Margaret Ellis"
    assert assessment["case_details"]["carers"] == ["Lucy Ellis"]

    at.file_uploader(key=f"upload-{assessment['id']}").set_value(("jfk.flac", JFK.read_bytes(), "audio/flac"))
    at.run()
    at.button(key=f"transcribe-{assessment['id']}").click()
    at.run()
    assert not at.exception, at.exception
    # the progress bar was fed by the transcriber's callback and ends full
    seen = at.session_state["progress_seen"]
    assert seen and seen == sorted(seen) and seen[-1] == pytest.approx(1.0)
    bars = at.get("progress")
    assert bars and bars[-1].value == 100 and "Transcribed 11 s" in bars[-1].proto.text
    assert "ask not what your country can do for you" in texts(at).lower()
    # retention 0: the audio is gone once transcribed
    assert not list((svc.settings.home / "audio").glob("*"))
    assert all(r["path"] is None for r in svc.store.recordings_for(assessment["id"]))

    at.run()
    assert not [b for b in at.button if b.key == f"transcribe-{assessment['id']}"]  # transcribed: not again
    next(s for s in at.selectbox if s.label == "Speaker").select("client")
    at.button(key="change_speaker").click()
    at.run()
    segment = svc.store.latest_transcript(assessment["id"])["segments"][0]
    assert segment["speaker"] == "client" and segment["speaker_inferred"] is False
    assert "**client**:" in texts(at)

    at.button(key="make_draft").click()
    at.run()
    assert not at.exception, at.exception
    (draft,) = svc.store.drafts_for(assessment["id"])
    did = draft["id"]
    first = svc.store.draft(did)["content"]["sections"][0]
    box = at.text_area(key=f"edit-{did}-{first['id']}")
    assert box.value == first["text"]
    box.input("Sam checked consent with the client at the start.")
    at.run()  # on_change autosaves
    saved = svc.store.autosaved(did, "sam")
    assert saved is not None
    assert saved["content"]["sections"][0]["text"] == "Sam checked consent with the client at the start."

    at.button(key="submit").click()
    at.run()
    assert not at.exception, at.exception
    after = svc.store.draft(did)
    assert after["status"] == "submitted" and after["version"] == 2  # the edit was saved before submitting
    assert after["content"]["sections"][0]["text"] == "Sam checked consent with the client at the start."
    assert any("Submitted for review" in s.value for s in at.success)
    actions = [e["action"] for e in svc.store.audit_events() if e["actor"] == "sam"]
    for action in ("create", "transcribe", "speaker_corrected", "draft", "edit", "submit"):
        assert action in actions


def test_when_the_app_dies_mid_typing_then_reopening_offers_the_autosave(people: Any) -> None:
    svc = people
    aid, did = draft_with_transcript(svc, "APP-CRASH", status="draft")
    at = sign_in(new_app(), "sam")
    choose(at).select(aid).run()
    sid = svc.store.draft(did)["content"]["sections"][0]["id"]
    at.text_area(key=f"edit-{did}-{sid}").input("Typed just before the crash.")
    at.run()
    del at  # the process is gone: no save, no sign-out

    reopened = sign_in(new_app(), "sam")
    choose(reopened).select(aid).run()
    assert any("unsaved changes" in i.value for i in reopened.info)
    assert reopened.text_area(key=f"edit-{did}-{sid}").value != "Typed just before the crash."
    reopened.button(key="restore").click()
    reopened.run()
    assert reopened.text_area(key=f"edit-{did}-{sid}").value == "Typed just before the crash."
    reopened.button(key="save").click()
    reopened.run()
    assert svc.store.draft(did)["content"]["sections"][0]["text"] == "Typed just before the crash."


def test_when_the_ot_replaces_the_transcript_then_the_note_says_so_and_can_be_redrafted(people: Any) -> None:
    svc = people
    aid, did = draft_with_transcript(svc, "APP-REDRAFT", status="draft")
    svc.store.save_transcript(
        aid,
        Transcript.from_text("OT: What would you like to do?\nClient: I want to go swimming again.").model_dump(
            mode="json"
        ),
    )
    at = sign_in(new_app(), "sam")
    choose(at).select(aid).run()
    assert any("drafted from an earlier transcript" in w.value for w in at.warning)
    at.button(key="redraft").click()
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    note = svc.store.draft(did)
    assert note["version"] == 2 and [v["note"] for v in svc.store.versions(did)] == ["drafted", "redrafted"]
    assert "swim" in str(note["content"]).lower()
    assert not any("drafted from an earlier transcript" in w.value for w in at.warning)  # the editor shows v2
    sid = note["content"]["sections"][0]["id"]
    assert at.text_area(key=f"edit-{did}-{sid}").value == note["content"]["sections"][0]["text"]


def test_when_two_people_save_one_draft_then_the_second_sees_a_conflict_and_can_merge(people: Any) -> None:
    svc = people
    aid, did = draft_with_transcript(svc, "APP-TWO", status="draft")
    sections = svc.store.draft(did)["content"]["sections"]
    first, second = sections[0]["id"], sections[1]["id"]
    mine = sign_in(new_app(), "sam")
    choose(mine).select(aid).run()
    # someone else (another session of the team) saves a change to the second section first
    theirs = review.with_section_text(svc.store.draft(did)["content"], {second: "Their edit to section two."})
    svc.store.save_version(did, theirs, "lee", base_version=1)

    mine.text_area(key=f"edit-{did}-{first}").input("My edit to section one.")
    mine.run()
    mine.button(key="save").click()
    mine.run()
    assert any("Not saved" in e.value and "lee saved version 2" in e.value for e in mine.error)
    assert svc.store.draft(did)["version"] == 2  # nothing overwritten
    mine.button(key="merge").click()
    mine.run()
    merged = svc.store.draft(did)
    assert merged["version"] == 3
    texts_now = {s["id"]: s["text"] for s in merged["content"]["sections"]}
    assert texts_now[first] == "My edit to section one." and texts_now[second] == "Their edit to section two."


# ── OT: what must not be lost or mixed up ───────────────────────────────────
LEE = {"username": "lee", "role": "supervisor"}


def box(at: AppTest, did: str, sid: str) -> Any:
    return at.text_area(key=f"edit-{did}-{sid}")


def keyed(at: AppTest, key: str) -> list[Any]:
    """The buttons with this key on the page now (none when the button is not shown)."""
    return [b for b in at.button if b.key == key]


def section_ids(svc: Any, did: str) -> list[str]:
    return [s["id"] for s in svc.store.draft(did)["content"]["sections"]]


def text_of(svc: Any, did: str, sid: str) -> str:
    return str(next(s["text"] for s in svc.store.draft(did)["content"]["sections"] if s["id"] == sid))


def test_an_edit_to_the_goals_section_is_offered_back_merged_and_replaces_the_drafted_goals(people: Any) -> None:
    svc = people
    aid, did = draft_with_transcript(svc, "APP-GOALS", status="draft")
    drafted = text_of(svc, did, "goals")
    at = sign_in(new_app(), "sam")
    choose(at).select(aid).run()
    box(at, did, "goals").input("- Swim 20 minutes twice a week by June.")
    at.run()
    del at  # the process is gone

    reopened = sign_in(new_app(), "sam")
    choose(reopened).select(aid).run()
    assert any("unsaved changes" in i.value for i in reopened.info)
    assert box(reopened, did, "goals").value == drafted
    reopened.button(key="restore").click().run()
    assert box(reopened, did, "goals").value == "- Swim 20 minutes twice a week by June."
    # a colleague saves another section first; merging keeps both
    history = review.with_section_text(svc.store.draft(did)["content"], {"history": "Their history."})
    svc.store.save_version(did, history, "lee", base_version=1)
    reopened.button(key="save").click().run()
    reopened.button(key="merge").click().run()
    assert svc.store.draft(did)["version"] == 3
    assert text_of(svc, did, "goals") == "- Swim 20 minutes twice a week by June."
    assert text_of(svc, did, "history") == "Their history."
    assert [c["section"] for c in review.diff(svc.store, did, 2, 3)] == ["goals"]
    assert "**SMART goals**" not in texts(reopened)  # the Goals box states them; no stale list beside it


def test_discarded_changes_are_deleted_and_never_come_back(people: Any) -> None:
    svc = people
    aid, did = draft_with_transcript(svc, "APP-DISCARD", status="draft")
    saved = text_of(svc, did, "history")
    at = sign_in(new_app(), "sam")
    choose(at).select(aid).run()
    box(at, did, "history").input("Text I threw away.")
    at.run()
    del at

    at = sign_in(new_app(), "sam")
    choose(at).select(aid).run()
    at.button(key="discard").click().run()
    assert svc.store.autosaved(did, "sam") is None
    at.button(key="submit").click().run()
    assert svc.store.draft(did)["status"] == "submitted"
    review.request_changes(svc.store, did, LEE, "Add the walking distance.")
    at.run()
    assert box(at, did, "history").value == saved
    assert not keyed(at, "restore")


def test_an_autosave_from_another_tab_never_replaces_what_this_tab_submitted(people: Any) -> None:
    svc = people
    aid, did = draft_with_transcript(svc, "APP-TABS", status="draft")
    one, two = sign_in(new_app(), "sam"), sign_in(new_app(), "sam")
    choose(one).select(aid).run()
    choose(two).select(aid).run()
    box(one, did, "history").input("Edited in tab one.")
    one.button(key="submit").click().run()
    assert svc.store.draft(did)["version"] == 2
    box(two, did, "mobility_transfers").input("Typed in tab two on version 1.")
    two.run()
    review.request_changes(svc.store, did, LEE, "Add the walking distance.")
    one.run()
    assert box(one, did, "history").value == "Edited in tab one."
    box(one, did, "mobility_transfers").input("Walks 200 yards with a stick.")
    one.button(key="submit").click().run()
    after = svc.store.draft(did)
    assert after["status"] == "submitted" and after["version"] == 3
    assert text_of(svc, did, "history") == "Edited in tab one."
    assert text_of(svc, did, "mobility_transfers") == "Walks 200 yards with a stick."


def test_an_autosave_made_on_an_older_version_is_shown_to_copy_not_offered_back(people: Any) -> None:
    svc = people
    aid, did = draft_with_transcript(svc, "APP-STALE-AUTO", status="draft")
    content = svc.store.draft(did)["content"]
    svc.store.autosave(did, "sam", 1, review.with_section_text(content, {"history": "Typed on version one."}))
    svc.store.save_version(did, review.with_section_text(content, {"risk": "Lee's edit."}), "lee", 1)
    at = sign_in(new_app(), "sam")
    choose(at).select(aid).run()
    assert not keyed(at, "restore")
    assert box(at, did, "history").value == content["sections"][section_ids(svc, did).index("history")]["text"]
    assert box(at, did, "risk").value == "Lee's edit."
    assert "Typed on version one." in [c.value for c in at.code]
    assert any("version 1" in w.value and "now version 2" in w.value for w in at.warning)


def test_each_pick_of_an_assessment_opens_it_at_once(people: Any) -> None:
    svc = people
    ids = {}
    for word in ("apples", "pears", "plums"):
        ids[word] = svc.store.create_assessment(f"APP-PICK-{word}", "sam", {})
        visit = Transcript.from_text(f"OT: Shall we talk about {word}?\nClient: Yes.")
        svc.store.save_transcript(ids[word], visit.model_dump(mode="json"))
    at = sign_in(new_app(), "sam")
    for word in ("pears", "plums", "apples", "pears"):
        choose(at).select(ids[word]).run()
        assert at.session_state["assessment"] == ids[word] and choose(at).value == ids[word]
        assert f"talk about {word}" in texts(at)


def test_the_speaker_box_shows_the_chosen_segments_speaker(people: Any) -> None:
    svc = people
    aid, _ = draft_with_transcript(svc, "APP-SPEAKER", status="draft")
    at = sign_in(new_app(), "sam")
    choose(at).select(aid).run()

    def pick(label: str) -> Any:
        return next(s for s in at.selectbox if s.label == label)

    speakers = [s["speaker"] for s in svc.store.latest_transcript(aid)["segments"]]
    assert speakers[:3] == ["OT", "client", "OT"]
    for i in (1, 0, 2, 1):
        pick("Segment").select(i).run()
        assert pick("Speaker").value == speakers[i]
    pick("Speaker").select("other").run()
    at.button(key="change_speaker").click().run()
    after = [s["speaker"] for s in svc.store.latest_transcript(aid)["segments"]]
    assert after == [speakers[0], "other", *speakers[2:]]
    pick("Segment").select(0).run()
    assert pick("Speaker").value == "OT"


def test_a_new_assessment_keeps_what_was_typed_until_it_is_valid_and_refuses_a_duplicate(people: Any) -> None:
    svc = people
    at = sign_in(new_app(), "sam")
    field(at, "Client's name").input("Margaret Ellis")
    field(at, "NHS number").input("943 476 5919")
    button(at, "Create").click()
    at.run()
    assert any("Give the assessment a reference" in e.value for e in at.error)
    assert field(at, "Client's name").value == "Margaret Ellis" and field(at, "NHS number").value == "943 476 5919"
    field(at, "Reference").input("APP-DUP")
    button(at, "Create").click()
    at.run()
    made = [a for a in svc.store.list_assessments() if a["reference"].lower() == "app-dup"]
    assert len(made) == 1 and made[0]["case_details"]["nhs_number"] == "943 476 5919"
    assert field(at, "Client's name").value == "" and field(at, "Reference").value == ""  # ready for the next
    field(at, "Reference").input(" app-dup ")
    field(at, "Client's name").input("Someone Else")
    button(at, "Create").click()
    at.run()
    assert any("already" in e.value and "APP-DUP" in e.value for e in at.error), [e.value for e in at.error]
    assert len([a for a in svc.store.list_assessments() if a["reference"].lower() == "app-dup"]) == 1
    assert field(at, "Client's name").value == "Someone Else"


def test_when_submit_meets_a_colleagues_save_then_merge_is_offered_at_once(people: Any) -> None:
    svc = people
    aid, did = draft_with_transcript(svc, "APP-SUBMIT-CONFLICT", status="draft")
    at = sign_in(new_app(), "sam")
    choose(at).select(aid).run()
    content = svc.store.draft(did)["content"]
    svc.store.save_version(did, review.with_section_text(content, {"history": "Colleague's edit."}), "lee", 1)
    box(at, did, "mobility_transfers").input("My edit before submitting.")
    at.button(key="submit").click().run()
    assert any("Not submitted" in e.value for e in at.error)
    assert any("Not saved" in e.value and "lee saved version 2" in e.value for e in at.error)
    assert keyed(at, "merge"), "the conflict panel shows in the same run"
    at.button(key="merge").click().run()
    assert text_of(svc, did, "history") == "Colleague's edit."
    assert text_of(svc, did, "mobility_transfers") == "My edit before submitting."


def test_when_the_note_is_submitted_elsewhere_then_what_was_typed_here_stays_on_screen(people: Any) -> None:
    svc = people
    aid, did = draft_with_transcript(svc, "APP-GONE", status="draft")
    one, two = sign_in(new_app(), "sam"), sign_in(new_app(), "sam")
    choose(one).select(aid).run()
    choose(two).select(aid).run()
    one.button(key="submit").click().run()
    box(two, did, "history").input("Tab two typed this.")
    two.button(key="save").click().run()
    assert not two.exception, two.exception
    assert any("submitted" in w.value and "another tab" in w.value for w in two.warning), [w.value for w in two.warning]
    assert "Tab two typed this." in [c.value for c in two.code]
    assert svc.store.autosaved(did, "sam") is None  # a note waiting for review takes no autosave
    two.run()
    assert "Tab two typed this." in [c.value for c in two.code]  # until the OT dismisses it
    two.button(key=f"kept-dismiss-{did}").click().run()
    assert "Tab two typed this." not in [c.value for c in two.code]


def test_when_a_note_is_submitted_elsewhere_while_another_is_open_then_coming_back_still_says_so(
    people: Any,
) -> None:
    svc = people
    aid, did = draft_with_transcript(svc, "APP-AWAY-A", status="draft")
    other, _ = draft_with_transcript(svc, "APP-AWAY-B", status="draft")
    one, two = sign_in(new_app(), "sam"), sign_in(new_app(), "sam")
    choose(two).select(aid).run()
    box(two, did, "history").input("Typed before looking at B.")
    choose(two).select(other).run()
    choose(one).select(aid).run()
    one.button(key="submit").click().run()
    choose(two).select(aid).run()
    assert not two.exception, two.exception
    assert any("submitted" in w.value for w in two.warning), [w.value for w in two.warning]


def test_a_transcript_is_not_replaced_by_the_same_text_nor_on_a_submitted_note_without_asking(people: Any) -> None:
    svc = people
    aid = svc.store.create_assessment("APP-PASTE", "sam", {})
    locked, _ = draft_with_transcript(svc, "APP-LOCKED", status="submitted")
    at = sign_in(new_app(), "sam")
    choose(at).select(aid).run()
    at.text_area(key=f"pasted-{aid}").input(CONVERSATION).run()
    at.button(key=f"use-pasted-{aid}").click().run()
    first = svc.store.latest_transcript(aid)["id"]
    assert not keyed(at, f"use-pasted-{aid}")  # already the transcript: nothing to use again
    assert svc.store.latest_transcript(aid)["id"] == first

    before = svc.store.latest_transcript(locked)["id"]
    choose(at).select(locked).run()
    at.text_area(key=f"pasted-{locked}").input("OT: Hello.\nClient: A different visit.").run()
    assert at.button(key=f"use-pasted-{locked}").disabled  # not until the OT says to replace it
    at.checkbox(key=f"replace-ok-{locked}").check().run()
    at.button(key=f"use-pasted-{locked}").click().run()
    assert svc.store.latest_transcript(locked)["id"] != before


def test_activity_suggestions_belong_to_their_assessment(people: Any) -> None:
    svc = people
    first, _ = draft_with_transcript(svc, "APP-SUGGEST-1", status="draft")
    second, _ = draft_with_transcript(svc, "APP-SUGGEST-2", status="draft")
    at = sign_in(new_app(), "sam")

    def suggested() -> list[str]:
        return [c.value for c in at.caption if c.value.startswith("For:")]

    choose(at).select(first).run()
    at.button(key="suggest").click().run()
    assert suggested()
    choose(at).select(second).run()
    assert not suggested()
    choose(at).select(first).run()
    assert suggested()


# ── supervisor ──────────────────────────────────────────────────────────────
def test_supervisor_flow_request_changes_then_approve_and_sign_off(people: Any) -> None:
    svc = people
    _, did = draft_with_transcript(svc, "APP-REVIEW")
    at = sign_in(new_app(), "lee")
    at.radio(key="queue_pick").set_value(did).run()
    assert any("APP-REVIEW" in s.value for s in at.subheader)
    # the supervisor sees what each section came from, as the OT does
    quotes = [c.value for c in at.caption if c.value.startswith("segment ")]
    assert quotes and all("“" in q for q in quotes)

    at.button(key=f"request_changes-{did}").click()
    at.run()
    assert any("needs a comment" in e.value for e in at.error)
    assert svc.store.draft(did)["status"] == "submitted"

    at.text_area(key=f"comment-{did}").input("Please add how far she can walk.")
    at.button(key=f"request_changes-{did}").click()
    at.run()
    assert svc.store.draft(did)["status"] == "changes_requested"
    assert svc.store.decisions(did)[-1]["comment"] == "Please add how far she can walk."
    assert at.session_state[f"comment-{did}"] == ""  # the comment went with that decision, not the next

    # the OT edits and resubmits; the supervisor sees the diff, approves, then signs off
    content = svc.store.draft(did)["content"]
    sid = content["sections"][0]["id"]
    svc.store.save_version(did, review.with_section_text(content, {sid: "Walks 200 yards."}), "sam", 1)
    review.submit(svc.store, did, {"username": "sam", "role": "ot"})
    at.run()
    at.radio(key="queue_pick").set_value(did).run()
    assert any("+Walks 200 yards." in c.value for c in at.code)
    at.button(key=f"approve-{did}").click()
    at.run()
    assert svc.store.draft(did)["status"] == "approved"
    at.radio(key="queue_pick").set_value(did).run()
    at.button(key=f"sign_off-{did}").click()
    at.run()
    signed = svc.store.draft(did)
    assert signed["status"] == "signed_off" and signed["signed_off_by"] == "lee" and signed["signed_off_at"]
    actions = [e["action"] for e in svc.store.audit_events() if e["subject"] == f"draft:{did}"]
    assert {"request_changes", "approve", "sign_off"} <= set(actions)


# ── coordinator ─────────────────────────────────────────────────────────────
def test_coordinator_flow_drafts_a_supporting_letter_and_exports_it(people: Any) -> None:
    svc = people
    aid, did = draft_with_transcript(svc, "APP-COORD", status="approved")
    at = sign_in(new_app(), "cam")
    at.selectbox(key="coord_pick").select(did).run()
    at.radio(key="coord_kind").set_value("supporting_letter").run()
    at.button(key="coord_make").click()
    at.run()
    assert not at.exception, at.exception
    (letter,) = [d for d in svc.store.drafts_for(aid) if d["template"] == "supporting_letter"]
    content = svc.store.draft(letter["id"])["content"]
    purpose = next(s for s in content["sections"] if s["id"] == "purpose")
    assert "bus pass" in purpose["text"].lower()
    shown = "\n".join(c.value for c in at.code)
    assert "bus pass" in shown.lower()
    assert "Lucy Ellis" not in shown and "[PERSON_1]" in shown  # pseudonymised unless asked
    # the approved note can be exported; the new letter only once a supervisor approves it
    assert exported(at) == {did}
    assert any("can be exported once a supervisor approves it" in c.value for c in at.caption)
    at.button(key=f"coord-submit-{letter['id']}").click()
    at.run()
    assert svc.store.draft(letter["id"])["status"] == "submitted"
    review.approve(svc.store, letter["id"], {"username": "lee", "role": "supervisor"})
    at.run()
    assert exported(at) == {did, letter["id"]}
    assert {b.proto.label for b in at.get("download_button")} == {"Download MD", "Download DOCX", "Download PDF"}
    # the letter needs the person's name: the coordinator may put the details back, and that is audited
    at.toggle(key="coord_reidentify").set_value(True).run()
    assert not at.exception, at.exception


def exported(at: AppTest) -> set[str]:
    """The drafts that have download buttons (their keys are export-<draft id>-<format>)."""
    return {re.search(r"export-(\w+)-(md|docx|pdf)", b.proto.id).group(1) for b in at.get("download_button")}


def test_when_the_transcript_was_replaced_after_approval_the_coordinator_drafts_from_the_approved_ones(
    people: Any,
) -> None:
    svc = people
    aid, did = draft_with_transcript(svc, "APP-STALE", status="approved")
    svc.store.save_transcript(
        aid, Transcript.from_text("OT: Hello.\nClient: A different visit altogether.").model_dump(mode="json")
    )
    at = sign_in(new_app(), "cam")
    at.selectbox(key="coord_pick").select(did).run()
    at.radio(key="coord_kind").set_value("supporting_letter").run()
    at.button(key="coord_make").click()
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    (letter,) = [d for d in svc.store.drafts_for(aid) if d["template"] == "supporting_letter"]
    drafted = str(svc.store.draft(letter["id"])["content"])
    assert "bus pass" in drafted.lower() and "different visit" not in drafted


def test_a_letter_sent_back_is_edited_saved_and_resubmitted_by_the_coordinator(people: Any) -> None:
    svc = people
    aid, did = draft_with_transcript(svc, "APP-BACK", status="approved")
    at = sign_in(new_app(), "cam")
    at.selectbox(key="coord_pick").select(did).run()
    at.radio(key="coord_kind").set_value("supporting_letter").run()
    at.button(key="coord_make").click()
    at.run()
    (letter,) = [d for d in svc.store.drafts_for(aid) if d["template"] == "supporting_letter"]
    lid = letter["id"]
    at.button(key=f"coord-submit-{lid}").click()
    at.run()
    review.request_changes(svc.store, lid, {"username": "lee", "role": "supervisor"}, "Say why she needs a companion.")
    at.run()
    assert any("Say why she needs a companion." in w.value for w in at.warning)
    at.button(key=f"coord-save-{lid}").click()  # nothing typed yet: no new version
    at.run()
    assert svc.store.draft(lid)["version"] == 1
    (box,) = [t for t in at.text_area if t.key and t.key.startswith(f"coord-edit-{lid}-1-purpose")]
    box.input("She needs a companion pass because she cannot travel alone since her stroke.")
    at.button(key=f"coord-save-{lid}").click()
    at.run()
    assert not at.error, [e.value for e in at.error]
    saved = svc.store.draft(lid)
    assert saved["version"] == 2
    assert "cannot travel alone" in next(s["text"] for s in saved["content"]["sections"] if s["id"] == "purpose")
    # typed and submitted without saving: the typing is saved first, and that version is what is submitted
    (box,) = [t for t in at.text_area if t.key and t.key.startswith(f"coord-edit-{lid}-2-purpose")]
    box.input("She needs a companion pass: since her stroke she cannot travel alone or read timetables.")
    at.button(key=f"coord-submit-{lid}").click()
    at.run()
    assert not at.error, [e.value for e in at.error]
    submitted = svc.store.draft(lid)
    assert submitted["status"] == "submitted" and submitted["version"] == 3
    assert "read timetables" in next(s["text"] for s in submitted["content"]["sections"] if s["id"] == "purpose")
    assert [(d["decision"], d["version"]) for d in svc.store.decisions(lid)][-1] == ("submit", 3)


def test_when_the_note_moved_on_while_the_supervisor_read_it_then_approve_is_refused(people: Any) -> None:
    svc = people
    _aid, did = draft_with_transcript(svc, "APP-MOVED", status="submitted")
    at = sign_in(new_app(), "lee")
    at.radio(key="queue_pick").set_value(did).run()  # lee reads version 1
    sam, kim = {"username": "sam", "role": "ot"}, {"username": "kim", "role": "supervisor"}
    review.request_changes(svc.store, did, kim, "Add the walking distance.")
    content = svc.store.draft(did)["content"]
    sid = content["sections"][0]["id"]
    svc.store.save_version(did, review.with_section_text(content, {sid: "Walks 200 yards."}), "sam", 1)
    review.submit(svc.store, did, sam)  # version 2 waits for review; lee's screen still shows version 1
    at.button(key=f"approve-{did}").click()
    at.run()
    assert any("changed since you read version 1" in e.value for e in at.error), [e.value for e in at.error]
    assert svc.store.draft(did)["status"] == "submitted"


# ── evaluator and admin ─────────────────────────────────────────────────────
def test_evaluator_runs_a_suite_and_sees_the_results(people: Any) -> None:
    at = sign_in(new_app(), "eve")
    assert at.header[0].value == "Evaluation"
    suites = at.dataframe[0].value
    assert {"pii.yaml", "golden_scripted.yaml"} <= set(suites["suite"])
    assert any("No runs yet" in c.value for c in at.caption)
    at.selectbox(key="eval_suite").select("golden_scripted.yaml")
    at.text_input(key="eval_compare").input("v1,broken")
    at.button(key="eval_run").click()
    at.run()
    assert not at.exception, at.exception
    # the broken prompt misses its thresholds, so the run reports a failure, and the results show
    assert any("threshold was missed" in w.value for w in at.warning), [e.value for e in at.error]
    table = at.dataframe[1].value
    assert len(table) > 5 and table.shape[1] == 1
    assert at.get("iframe"), "the run's HTML report is shown"


def test_admin_sees_the_audit_trail_and_a_broken_chain(people: Any) -> None:
    svc = people
    at = sign_in(new_app(), "ada")
    assert at.header[0].value == "Audit trail"
    assert "chain is intact" in at.success[0].value
    with svc.store.tx() as conn:
        actor = conn.execute(text("SELECT actor FROM audit_events WHERE seq = 1")).scalar_one()
        conn.execute(text("UPDATE audit_events SET actor = 'mallory' WHERE seq = 1"))
    try:
        at.button(key="verify").click()
        at.run()
        assert at.error and "broken" in at.error[0].value and "event 1" in at.error[0].value
    finally:  # the session store is shared by later tests: put the row back
        with svc.store.tx() as conn:
            conn.execute(text("UPDATE audit_events SET actor = :a WHERE seq = 1"), {"a": actor})
    assert svc.store.verify_audit()[0]


# ── audio retention ─────────────────────────────────────────────────────────
def test_when_audio_is_kept_for_days_then_it_is_deleted_once_they_pass(services: Any, tmp_path: Path) -> None:
    from assistant.services import Services
    from assistant.settings import Settings

    kept = Services(Settings(home=tmp_path / "keep", keep_audio_days=2, whisper_threads=2))
    kept._engines["transcriber"] = services.transcriber  # the same Whisper, loaded once
    aid = kept.store.create_assessment("KEEP-1", "sam", {})
    transcript, _ = kept.transcribe_recording(aid, "visit.flac", JFK.read_bytes())
    assert "ask not" in transcript.text.lower()
    (recording,) = kept.store.recordings_for(aid)
    audio = Path(recording["path"])
    assert audio.exists() and audio.parent == tmp_path / "keep" / "audio"
    assert kept.purge_expired_audio() == 0 and audio.exists()  # not yet due

    with kept.store.tx() as conn:  # two days later
        conn.execute(text("UPDATE recordings SET delete_after = '2000-01-01 00:00:00'"))
    stop = threading.Event()
    kept.keep_purging_audio(every_s=0.1, stop=stop)  # what the running app does, every 10 minutes
    try:
        deadline = time.monotonic() + 10
        # the purge's last step is its audit event
        while "audio_deleted" not in [e["action"] for e in kept.store.audit_events(limit=1)]:
            assert time.monotonic() < deadline, "expired audio was not purged within 10 s"
            time.sleep(0.05)
    finally:
        stop.set()
    assert not audio.exists() and kept.store.recordings_for(aid)[0]["path"] is None
    assert kept.store.audit_events(limit=1)[0]["action"] == "audio_deleted"


def test_when_transcription_fails_then_no_audio_is_left_behind(services: Any, tmp_path: Path) -> None:
    from assistant.errors import ReconnectError
    from assistant.services import Services
    from assistant.settings import Settings

    kept = Services(Settings(home=tmp_path / "keep", keep_audio_days=2, whisper_threads=2))
    kept._engines["transcriber"] = services.transcriber
    aid = kept.store.create_assessment("KEEP-2", "sam", {})
    with pytest.raises(ReconnectError):
        kept.transcribe_recording(aid, "broken.wav", b"this is not audio")
    assert not list((tmp_path / "keep" / "audio").glob("*"))
    assert kept.store.recordings_for(aid) == [] and kept.store.latest_transcript(aid) is None
