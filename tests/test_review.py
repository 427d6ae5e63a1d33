"""Review workflow (who may do what, from which status, all audited), the queue, diffs, merges, exports."""

from __future__ import annotations

import io
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from assistant import export, review
from assistant.errors import BadInput, ConflictError, NotAllowed
from assistant.store import Store

SAM = {"username": "sam", "role": "ot"}
JO = {"username": "jo", "role": "ot"}
LEE = {"username": "lee", "role": "supervisor"}
CAM = {"username": "cam", "role": "coordinator"}
CONTENT = {
    "template": "ot_initial_assessment",
    "sections": [
        {"id": "client_details", "title": "Client details and consent", "text": "Margaret Ellis consented."},
        {"id": "mobility", "title": "Mobility and transfers", "text": "Walks with a stick.\nUses the rail."},
    ],
    "goals": [
        {
            "text": "Margaret will swim once a week within 8 weeks.",
            "activity": "swimming",
            "measure": "sessions a week",
            "support": "Lucy drives her",
            "timeframe": "8 weeks",
        }
    ],
}


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(f"sqlite:///{tmp_path / 'r.db'}")


@pytest.fixture
def draft(store: Store) -> str:
    aid = store.create_assessment("REF-R", "sam", {"name": "Margaret Ellis"})
    return store.create_draft(aid, "ot_initial_assessment", CONTENT, "sam")


def test_the_happy_path_is_audited_step_by_step(store: Store, draft: str) -> None:
    assert review.allowed_steps(SAM, store.draft(draft), "sam") == ["submit"]
    review.submit(store, draft, SAM)
    assert review.allowed_steps(LEE, store.draft(draft), "sam") == ["request_changes", "approve"]
    review.request_changes(store, draft, LEE, "Say how far she walks.", {"mobility": "distance?"})
    review.submit(store, draft, SAM)
    review.approve(store, draft, LEE)
    signed = review.sign_off(store, draft, LEE)
    assert signed["status"] == "signed_off" and signed["signed_off_by"] == "lee"
    assert isinstance(signed["signed_off_at"], datetime)
    decisions = [(d["decision"], d["section_id"], d["comment"]) for d in store.decisions(draft)]
    assert decisions == [
        ("submit", None, ""),
        ("request_changes", None, "Say how far she walks."),
        ("comment", "mobility", "distance?"),
        ("submit", None, ""),
        ("approve", None, ""),
        ("sign_off", None, ""),
    ]
    trail = [(e["actor"], e["action"]) for e in reversed(store.audit_events())]
    assert trail == [
        ("sam", "submit"),
        ("lee", "request_changes"),
        ("sam", "submit"),
        ("lee", "approve"),
        ("lee", "sign_off"),
    ]
    assert store.verify_audit()[0]


@pytest.mark.parametrize(
    ("who", "step", "error", "message"),
    [
        (LEE, "submit", NotAllowed, "supervisor role may not submit"),
        (JO, "submit", NotAllowed, "only sam"),
        (CAM, "submit", NotAllowed, "only sam, who drafted this note"),
        (CAM, "approve", NotAllowed, "coordinator role may not approve"),
        (SAM, "approve", NotAllowed, "ot role may not approve"),
        (LEE, "approve", ConflictError, "'Draft' cannot be approved"),
        (LEE, "sign_off", ConflictError, "must be 'Approved'"),
        (SAM, "amend", ConflictError, "cannot be amended"),
        (LEE, "publish", BadInput, "unknown review step"),
    ],
)
def test_when_a_step_is_not_allowed_then_a_clear_refusal_and_nothing_changes(
    store: Store, draft: str, who: dict[str, str], step: str, error: type[Exception], message: str
) -> None:
    with pytest.raises(error, match=message):
        review.take_step(store, draft, who, step)
    assert store.draft(draft)["status"] == "draft"
    assert store.decisions(draft) == [] and store.audit_events() == []


def test_when_changes_are_requested_without_a_comment_then_refused(store: Store, draft: str) -> None:
    review.submit(store, draft, SAM)
    with pytest.raises(BadInput, match="needs a comment"):
        review.request_changes(store, draft, LEE, "  ")
    assert store.draft(draft)["status"] == "submitted"


def test_a_signed_off_note_is_locked_and_an_amendment_makes_a_new_version(store: Store, draft: str) -> None:
    review.submit(store, draft, SAM)
    review.approve(store, draft, LEE)
    review.sign_off(store, draft, LEE)
    with pytest.raises(ConflictError, match="locked"):
        store.save_version(draft, CONTENT, "sam", base_version=1)
    with pytest.raises(BadInput, match="needs a comment"):
        review.amend(store, draft, SAM, "")
    review.amend(store, draft, SAM, "Wrong walking distance.")
    amended = review.with_section_text(CONTENT, {"mobility": "Walks 50 yards with a stick."})
    assert store.save_version(draft, amended, "sam", base_version=1) == 2
    assert [v["content"]["sections"][1]["text"] for v in store.versions(draft)] == [
        "Walks with a stick.\nUses the rail.",
        "Walks 50 yards with a stick.",
    ]
    assert any(d["decision"] == "sign_off" and d["version"] == 1 for d in store.decisions(draft))


def test_an_approved_note_cannot_change_before_sign_off_so_the_signed_version_is_the_one_reviewed(
    store: Store, draft: str
) -> None:
    review.submit(store, draft, SAM)
    with pytest.raises(ConflictError, match="waiting for review, so it cannot be edited"):
        store.save_version(draft, CONTENT, "sam", base_version=1)
    review.approve(store, draft, LEE)
    edited = review.with_section_text(CONTENT, {"mobility": "Walks a mile."})
    with pytest.raises(ConflictError, match="approved, so it cannot be edited"):
        store.save_version(draft, edited, "sam", base_version=1)
    signed = review.sign_off(store, draft, LEE)
    assert signed["version"] == 1 and [v["version"] for v in store.versions(draft)] == [1]
    assert [(d["decision"], d["version"]) for d in store.decisions(draft)] == [
        ("submit", 1),
        ("approve", 1),
        ("sign_off", 1),
    ]


def test_when_the_note_moved_on_since_the_reviewer_read_it_then_nothing_is_decided(store: Store, draft: str) -> None:
    review.submit(store, draft, SAM)
    read = store.draft(draft)["version"]
    review.request_changes(store, draft, LEE, "Say how far she walks.")
    store.save_version(draft, review.with_section_text(CONTENT, {"mobility": "Walks 50 yards."}), "sam", 1)
    review.submit(store, draft, SAM)
    before = store.decisions(draft)
    with pytest.raises(ConflictError, match="changed since you read version 1: it is now version 2"):
        review.approve(store, draft, LEE, read_version=read)
    assert store.draft(draft)["status"] == "submitted" and store.decisions(draft) == before
    review.approve(store, draft, LEE, read_version=2)
    assert store.draft(draft)["status"] == "approved"


def test_the_queue_filters_by_status_ot_and_age(store: Store) -> None:
    a1 = store.create_assessment("Q-1", "sam", {})
    a2 = store.create_assessment("Q-2", "jo", {})
    d1 = store.create_draft(a1, "ot_initial_assessment", CONTENT, "sam")
    d2 = store.create_draft(a2, "ot_initial_assessment", CONTENT, "jo")
    review.submit(store, d1, SAM)
    review.submit(store, d2, JO)
    review.approve(store, d2, LEE)
    assert [i["id"] for i in review.queue(store)] == [d1]
    assert {i["id"] for i in review.queue(store, ("submitted", "approved"))} == {d1, d2}
    assert [i["id"] for i in review.queue(store, ("submitted", "approved"), ot="jo")] == [d2]
    later = datetime.now(UTC) + timedelta(days=3)
    assert review.queue(store, older_than_days=2) == []
    (old,) = review.queue(store, older_than_days=2, at=later)
    assert old["id"] == d1 and old["age_days"] >= 2.9


def test_the_diff_shows_only_changed_sections(store: Store, draft: str) -> None:
    changed = review.with_section_text(CONTENT, {"mobility": "Walks with a stick.\nUses the rail and a perch stool."})
    store.save_version(draft, changed, "sam", base_version=1)
    (change,) = review.diff(store, draft, 1, 2)
    assert change["section"] == "mobility"
    assert "-Uses the rail." in change["diff"] and "+Uses the rail and a perch stool." in change["diff"]
    with pytest.raises(BadInput, match="no version 7"):
        review.diff(store, draft, 1, 7)


def test_owner_and_drafted_at_read_the_version_stamps_not_the_contents(
    store: Store, draft: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    v2 = store.save_version(draft, CONTENT, "jo", 1)
    v3 = store.save_version(draft, CONTENT, "sam", v2, note=review.REDRAFTED)
    store.save_version(draft, CONTENT, "jo", v3, note="edited")
    stamps = {v["version"]: v["created_at"] for v in store.versions(draft)}

    def no_contents(draft_id: str) -> None:
        raise AssertionError("loaded every version's content")

    monkeypatch.setattr(store, "versions", no_contents)
    assert review.owner(store, store.draft(draft)) == "sam"  # who drafted version 1, not who saved last
    assert review.drafted_at(store, draft) == stamps[3]  # the latest redraft, not the later edit


def test_drafted_at_is_the_first_version_until_the_note_is_redrafted(store: Store, draft: str) -> None:
    store.save_version(draft, CONTENT, "sam", 1, note="edited")
    assert review.drafted_at(store, draft) == store.versions(draft)[0]["created_at"]


def test_merge_keeps_both_sides_and_reports_clashes() -> None:
    mine = review.with_section_text(CONTENT, {"client_details": "Mine.", "mobility": "Mine too."})
    theirs = review.with_section_text(CONTENT, {"mobility": "Theirs."})
    merged, clashes = review.merge(CONTENT, mine, theirs)
    texts = {s["id"]: s["text"] for s in merged["sections"]}
    assert texts == {"client_details": "Mine.", "mobility": "Mine too."} and clashes == ["mobility"]
    only_theirs, none = review.merge(CONTENT, CONTENT, theirs)
    assert only_theirs["sections"][1]["text"] == "Theirs." and none == []


# ── export ──────────────────────────────────────────────────────────────────
MAPPING = {"[PERSON_1]": "Margaret Ellis", "[PERSON_2]": "Lucy"}


def _doc(store: Store, draft: str, reidentify: bool, user: dict[str, str] | None = None) -> export.Document:
    note = store.draft(draft)
    return export.document(
        note, store.assessment(note["assessment_id"]), MAPPING, reidentify_names=reidentify, user=user
    )


def test_only_a_reviewed_note_is_exported_and_an_amended_one_drops_the_old_sign_off(store: Store, draft: str) -> None:
    with pytest.raises(BadInput, match="only an approved or signed-off note can be exported"):
        _doc(store, draft, False)
    review.submit(store, draft, SAM)
    with pytest.raises(BadInput, match="'submitted'"):
        _doc(store, draft, False)
    review.approve(store, draft, LEE)
    review.sign_off(store, draft, LEE)
    assert dict(_doc(store, draft, False).facts)["Signed off"].startswith("lee ")
    review.amend(store, draft, SAM, "Wrong walking distance.")
    assert store.draft(draft)["signed_off_by"] is None and store.draft(draft)["signed_off_at"] is None
    assert any(d["decision"] == "sign_off" for d in store.decisions(draft))  # the history keeps it


def test_export_is_pseudonymised_unless_reidentification_is_asked_for(store: Store, draft: str) -> None:
    review.submit(store, draft, SAM)
    review.approve(store, draft, LEE)
    plain = export.to_markdown(_doc(store, draft, False))
    assert "Margaret" not in plain and "Lucy" not in plain
    assert "[PERSON_1] consented." in plain and "[PERSON_2] drives her" not in plain  # support is not exported
    assert "# OT initial assessment" in plain and "- **Reference:** REF-R" in plain
    assert "1. [PERSON_1] will swim once a week within 8 weeks." in plain
    named = export.to_markdown(_doc(store, draft, True, CAM))
    assert "Margaret Ellis consented." in named and "[PERSON_" not in named
    assert export.pseudonymise("Lucy's sister Lucyanne", MAPPING) == "[PERSON_2]'s sister Lucyanne"


def test_export_writes_real_docx_and_pdf(store: Store, draft: str) -> None:
    review.submit(store, draft, SAM)
    review.approve(store, draft, LEE)
    review.sign_off(store, draft, LEE)
    doc = _doc(store, draft, False)
    docx = export.render(doc, "docx")
    with zipfile.ZipFile(io.BytesIO(docx)) as z:
        body = z.read("word/document.xml").decode()
    assert "[PERSON_1] consented." in body and "Signed off" in body and "lee" in body

    from docx import Document

    word = Document(io.BytesIO(docx))
    assert [p.text for p in word.paragraphs if p.style.name == "Heading 2"] == [
        "Client details and consent",
        "Mobility and transfers",
        "Goals",
    ]
    pdf = export.render(doc, "pdf")
    assert pdf.startswith(b"%PDF-") and len(pdf) > 1000
    assert export.filename(doc, "pdf") == "REF-R-OT-initial-assessment.pdf"
    with pytest.raises(BadInput, match="unknown export format"):
        export.render(doc, "rtf")


def test_a_coordinator_may_reidentify_an_export_and_nobody_else_may(store: Store, draft: str) -> None:
    review.submit(store, draft, SAM)
    review.approve(store, draft, LEE)
    assert "Margaret Ellis consented." in export.to_markdown(_doc(store, draft, True, CAM))
    for who in (SAM, LEE, {"username": "eve", "role": "evaluator"}, {"username": "ann", "role": "admin"}):
        with pytest.raises(NotAllowed, match=f"the {who['role']} role may not put a person's details back"):
            _doc(store, draft, True, who)
    with pytest.raises(NotAllowed, match="say who is asking"):
        _doc(store, draft, True)  # the package does not trust its caller to have checked


def test_a_pseudonymised_export_needs_no_permission(store: Store, draft: str) -> None:
    review.submit(store, draft, SAM)
    review.approve(store, draft, LEE)
    for who in (None, SAM, LEE, CAM):
        plain = export.to_markdown(_doc(store, draft, False, who))
        assert "[PERSON_1] consented." in plain and "Margaret" not in plain


def test_who_may_put_a_persons_details_back_into_an_export() -> None:
    from assistant.accounts import can

    assert [role for role in ("ot", "coordinator", "supervisor", "evaluator", "admin") if can(role, "reidentify")] == [
        "coordinator"
    ]


# ── the goals section ───────────────────────────────────────────────────────
GOALS_TEXT = "- Margaret will swim once a week within 8 weeks."
WITH_GOALS = {**CONTENT, "sections": [*CONTENT["sections"], {"id": "goals", "title": "Goals", "text": GOALS_TEXT}]}
EDITED_GOALS = "- Margaret will swim twice a week by June, with Lucy."


@pytest.fixture
def goals_draft(store: Store) -> str:
    aid = store.create_assessment("REF-G", "sam", {"name": "Margaret Ellis"})
    return store.create_draft(aid, "ot_initial_assessment", WITH_GOALS, "sam")


def test_the_drafted_goals_have_their_own_key_beside_a_goals_section() -> None:
    texts = review.section_texts(WITH_GOALS)
    assert texts["goals"] == ("Goals", GOALS_TEXT)  # the section, as the OT edits it
    assert texts[review.GOALS][1] == "- Margaret will swim once a week within 8 weeks."  # the drafted SMART goals
    assert review.GOALS not in {s["id"] for s in WITH_GOALS["sections"]}


def test_an_edit_to_the_goals_section_shows_in_the_diff(store: Store, goals_draft: str) -> None:
    store.save_version(goals_draft, review.with_section_text(WITH_GOALS, {"goals": EDITED_GOALS}), "sam", 1)
    (change,) = review.diff(store, goals_draft, 1, 2)
    assert change["section"] == "goals" and change["title"] == "Goals"
    assert f"-{GOALS_TEXT}" in change["diff"] and f"+{EDITED_GOALS}" in change["diff"]


def test_a_merge_keeps_an_edit_to_the_goals_section() -> None:
    mine = review.with_section_text(WITH_GOALS, {"goals": EDITED_GOALS})
    theirs = review.with_section_text(WITH_GOALS, {"mobility": "Theirs."})
    merged, clashes = review.merge(WITH_GOALS, mine, theirs)
    texts = {s["id"]: s["text"] for s in merged["sections"]}
    assert texts["goals"] == EDITED_GOALS and texts["mobility"] == "Theirs." and clashes == []
    both = review.with_section_text(WITH_GOALS, {"goals": "- Their goals."})
    merged, clashes = review.merge(WITH_GOALS, mine, both)
    assert {s["id"]: s["text"] for s in merged["sections"]}["goals"] == EDITED_GOALS and clashes == ["goals"]


def test_an_edited_goals_section_is_the_one_list_of_goals_the_export_shows(store: Store, goals_draft: str) -> None:
    store.save_version(goals_draft, review.with_section_text(WITH_GOALS, {"goals": EDITED_GOALS}), "sam", 1)
    review.submit(store, goals_draft, SAM)
    review.approve(store, goals_draft, LEE)
    plain = export.to_markdown(_doc(store, goals_draft, False))
    assert plain.count("## Goals") == 1
    assert "- [PERSON_1] will swim twice a week by June, with [PERSON_2]." in plain
    assert "once a week within 8 weeks" not in plain  # the drafted goals the OT replaced
    assert review.goals_section(store.draft(goals_draft)["content"])["text"] == EDITED_GOALS
    assert review.goals_section(CONTENT) is None  # no goals section: the drafted goals are the list
