"""The app headless through Streamlit's AppTest: what each role sees after acting.

The evaluator sees the run they just made; the supervisor's queue stays on the note they decided;
reviewers' comments show while they apply; the coordinator is told what happened, is not given
duplicates, and reaches approved outputs after the note is amended; an upload's errors name the
file that was uploaded.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from streamlit.testing.v1 import AppTest

from assistant import review
from tests.test_app import choose, draft_with_transcript, new_app, sign_in

SAM = {"username": "sam", "role": "ot"}
LEE = {"username": "lee", "role": "supervisor"}
CAM = {"username": "cam", "role": "coordinator"}
DECISIONS = ("request_changes-", "approve-", "sign_off-")


def exported(at: AppTest) -> set[str]:
    """The drafts that have download buttons (their keys are export-<draft id>-<format>)."""
    return {re.search(r"export-(\w+)-(md|docx|pdf)", b.proto.id).group(1) for b in at.get("download_button")}


def keys(at: AppTest) -> set[str]:
    return {b.key for b in at.button if b.key}


def outputs(svc: Any, aid: str, template: str) -> list[dict[str, Any]]:
    return [d for d in svc.store.drafts_for(aid) if d["template"] == template]


def make_output(at: AppTest, did: str, kind: str) -> None:
    """As the coordinator: pick the approved note, then draft a care-plan entry or letter from it."""
    at.selectbox(key="coord_pick").select(did).run()
    at.radio(key="coord_kind").set_value(kind).run()
    at.button(key="coord_make").click()
    at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]


# ── evaluator ───────────────────────────────────────────────────────────────
def test_after_a_run_the_evaluator_sees_that_run_not_the_one_before(people: Any) -> None:
    from assistant.evaluation.runner import kept_runs

    at = sign_in(new_app(), "eve")
    at.selectbox(key="eval_suite").select("golden_scripted.yaml")
    at.button(key="eval_run").click()
    at.run()
    assert any("every threshold met" in s.value for s in at.success), [e.value for e in at.error]
    (first,) = kept_runs()
    assert at.multiselect(key="eval_runs").value == [str(first)]

    at.text_input(key="eval_compare").input("v1,broken")
    at.button(key="eval_run").click()
    at.run()
    assert not at.exception, at.exception
    assert any("threshold was missed" in w.value for w in at.warning), [e.value for e in at.error]
    runs = kept_runs()
    assert len(runs) == 2 and runs[0] == first
    latest = runs[-1]
    name = f"{latest.parent.parent.name} · {latest.parent.name}"
    # the table and the report are this run's: the one whose threshold was missed
    assert at.multiselect(key="eval_runs").value == [str(latest)]
    assert list(at.dataframe[1].value.columns) == [name]
    assert any(m.value == f"**Report: {name}**" for m in at.markdown)


# ── supervisor ──────────────────────────────────────────────────────────────
def test_after_a_decision_the_queue_stays_on_that_note_or_shows_none(people: Any) -> None:
    svc = people
    _, older = draft_with_transcript(svc, "APP-QUEUE-A")
    _, did = draft_with_transcript(svc, "APP-QUEUE-B")
    at = sign_in(new_app(), "lee")
    at.radio(key="queue_pick").set_value(did).run()
    at.button(key=f"approve-{did}").click()
    at.run()
    assert svc.store.draft(did)["status"] == "approved"
    assert any("Approve: done for APP-QUEUE-B" in s.value for s in at.success)
    # still on B, now approved: only B's next step is offered, never another note's buttons
    assert at.radio(key="queue_pick").value == did
    assert {k for k in keys(at) if k.startswith(DECISIONS)} == {f"request_changes-{did}", f"sign_off-{did}"}

    at.text_area(key=f"comment-{did}").input("Please add how far she can walk.")
    at.button(key=f"request_changes-{did}").click()
    at.run()
    assert svc.store.draft(did)["status"] == "changes_requested"
    assert any("Request changes: done for APP-QUEUE-B" in s.value for s in at.success)
    # B has left the queue: no note is picked for the supervisor, so no other note's buttons show
    assert at.radio(key="queue_pick").value is None
    assert not [k for k in keys(at) if k.startswith(DECISIONS)]
    assert not [s for s in at.subheader if "APP-QUEUE-A" in s.value]
    assert any("Choose a note" in i.value for i in at.info)
    # the supervisor picks the next note themselves
    at.radio(key="queue_pick").set_value(older).run()
    assert f"approve-{older}" in keys(at)


# ── reviewers' comments ─────────────────────────────────────────────────────
def test_only_the_comments_of_the_request_that_still_applies_show_with_who_when_and_version(people: Any) -> None:
    svc = people
    aid, did = draft_with_transcript(svc, "APP-COMMENTS")
    section = svc.store.draft(did)["content"]["sections"][0]
    review.request_changes(svc.store, did, LEE, "Please add walking distance.", {section["id"]: "Say who referred."})
    at = sign_in(new_app(), "sam")
    choose(at).select(aid).run()
    shown = [w.value for w in at.warning]
    (overall,) = [w for w in shown if "Please add walking distance." in w]
    assert "lee" in overall and "version 1" in overall
    (on_section,) = [w for w in shown if "Say who referred." in w]
    assert section["title"] in on_section and "version 1" in on_section

    # resubmitted: the request is dealt with, and its comments are history only
    content = svc.store.draft(did)["content"]
    svc.store.save_version(did, review.with_section_text(content, {section["id"]: "Referred by her GP."}), "sam", 1)
    review.submit(svc.store, did, SAM)
    at.run()
    assert not [w for w in at.warning if "walking distance" in w.value or "who referred" in w.value]
    (history,) = [p for p in at.get("popover") if p.proto.popover.label.startswith("Earlier review comments")]
    assert any("Please add walking distance." in c.value for c in history.caption)

    # sent back again: only the new request shows
    review.request_changes(svc.store, did, LEE, "Say how often she swims.")
    at.run()
    shown = [w.value for w in at.warning if w.value.startswith("lee")]
    assert len(shown) == 1 and "Say how often she swims." in shown[0] and "version 2" in shown[0]

    # approved and signed off: nothing is asked any more
    review.submit(svc.store, did, SAM)
    review.approve(svc.store, did, LEE)
    review.sign_off(svc.store, did, LEE)
    at.run()
    assert not [w for w in at.warning if w.value.startswith("lee")], [w.value for w in at.warning]


def test_a_coordinator_sees_a_request_for_changes_only_until_the_letter_is_resubmitted(people: Any) -> None:
    svc = people
    aid, did = draft_with_transcript(svc, "APP-LETTER-BACK", status="approved")
    at = sign_in(new_app(), "cam")
    make_output(at, did, "supporting_letter")
    (letter,) = outputs(svc, aid, "supporting_letter")
    review.submit(svc.store, letter["id"], CAM)
    review.request_changes(svc.store, letter["id"], LEE, "Say why she needs a companion.")
    at.run()
    assert any("Say why she needs a companion." in w.value and "version 1" in w.value for w in at.warning)
    review.submit(svc.store, letter["id"], CAM)
    at.run()
    assert not [w for w in at.warning if "companion" in w.value]


# ── coordinator ─────────────────────────────────────────────────────────────
def test_the_coordinator_is_told_what_each_action_did_and_gets_no_duplicate_draft(people: Any) -> None:
    svc = people
    aid, did = draft_with_transcript(svc, "APP-ONCE", status="approved")
    at = sign_in(new_app(), "cam")
    make_output(at, did, "care_plan_entry")
    assert any("Care-plan entry drafted" in s.value for s in at.success), [s.value for s in at.success]
    (entry,) = outputs(svc, aid, "care_plan_entry")
    eid = entry["id"]

    # from the same version of the note, the one made is offered, and another only when asked for
    assert "coord_make" not in keys(at)
    assert any("already drafted from version 1" in i.value for i in at.info)
    at.button(key="coord_open").click()
    at.run()
    assert len(outputs(svc, aid, "care_plan_entry")) == 1
    at.button(key="coord_make_another").click()
    at.run()
    assert len(outputs(svc, aid, "care_plan_entry")) == 2
    # another kind has not been made yet: it is drafted straight away
    at.radio(key="coord_kind").set_value("supporting_letter").run()
    assert "coord_make" in keys(at)

    (box,) = [t for t in at.text_area if t.key and t.key.startswith(f"coord-edit-{eid}-1-")][:1]
    box.input("Walks about 200 yards with a stick.")
    at.button(key=f"coord-save-{eid}").click()
    at.run()
    assert svc.store.draft(eid)["version"] == 2
    assert any("Saved version 2" in s.value for s in at.success), [s.value for s in at.success]
    at.button(key=f"coord-submit-{eid}").click()
    at.run()
    assert svc.store.draft(eid)["status"] == "submitted"
    assert any("Submitted for review" in s.value for s in at.success), [s.value for s in at.success]


def test_the_review_queue_names_who_wrote_an_output_not_the_ot(people: Any) -> None:
    svc = people
    aid, did = draft_with_transcript(svc, "APP-WHO", status="approved")
    make_output(sign_in(new_app(), "cam"), did, "supporting_letter")
    (letter,) = outputs(svc, aid, "supporting_letter")
    review.submit(svc.store, letter["id"], CAM)
    at = sign_in(new_app(), "lee")
    (label,) = [o for o in at.radio(key="queue_pick").options if o.startswith("APP-WHO — Supporting letter")]
    assert " — cam — " in label and " — sam — " not in label
    (note,) = [o for o in at.radio(key="queue_pick").options if o.startswith("APP-WHO — Assessment note")]
    assert " — sam — " in note


def test_after_the_ot_amends_the_note_its_approved_letter_can_still_be_exported(people: Any) -> None:
    svc = people
    aid, did = draft_with_transcript(svc, "APP-AMENDED", status="signed_off")
    at = sign_in(new_app(), "cam")
    make_output(at, did, "supporting_letter")
    (letter,) = outputs(svc, aid, "supporting_letter")
    lid = letter["id"]
    review.submit(svc.store, lid, CAM)
    review.approve(svc.store, lid, LEE)

    review.amend(svc.store, did, SAM, "Fix a typo")
    at.run()
    assert not at.exception, at.exception
    assert any("APP-AMENDED" in o for o in at.selectbox(key="coord_pick").options)
    at.selectbox(key="coord_pick").select(did).run()
    assert exported(at) == {lid}  # the letter, approved; the note being amended is not exported
    assert any("drafted once a supervisor approves it again" in i.value for i in at.info)
    assert not {"coord_make", "coord_make_another"} & keys(at)  # nothing new from a note under amendment


# ── uploads ─────────────────────────────────────────────────────────────────
@pytest.mark.parametrize(
    ("filename", "data", "says"),
    [("fake.wav", b"this is not audio at all", "not a recording that can be read"), ("empty.flac", b"", "empty")],
)
def test_an_upload_that_cannot_be_used_is_named_as_uploaded(people: Any, filename: str, data: bytes, says: str) -> None:
    svc = people
    aid = svc.store.create_assessment(f"APP-UPLOAD-{Path(filename).stem}", "sam", {})
    at = sign_in(new_app(), "sam")
    choose(at).select(aid).run()
    at.file_uploader(key=f"upload-{aid}").set_value((filename, data, "audio/wav")).run()
    at.button(key=f"transcribe-{aid}").click()
    at.run()
    (error,) = [e.value for e in at.error]
    assert error.startswith(f"{filename}: ") and says in error, error
    assert not re.search(r"[0-9a-f]{32}", error) and str(svc.settings.home) not in error
