"""An audit of drafting and export as an OT, a coordinator and a supervisor use them: wishes that are not
the person's own, what a model may say and return, and what an exported document shows. Real drafters and
real document writers; only the chat model is scripted."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from typing import Any

import pytest

from assistant import export
from assistant.drafting import TO_AGREE, UNSUPPORTED_MARK, draft_goals
from assistant.records import Draft, Section
from tests.test_drafting_evidence import _model_draft, _transcript


def _section(draft: Draft, section: str) -> Section:
    return next(s for s in draft.sections if s.id == section)


# ── goals come only from the person's own, undenied wishes ──────────────────────────────────────


@pytest.mark.parametrize(
    "said",
    [
        "My wife wants me to get back to swimming, but I'm not bothered.",
        "The doctor said I should get back to walking.",
        "I don't think I'll ever get back to swimming.",
        "I can't get back to swimming.",
        "My sister wants to get back to swimming.",
        "She'd love to get back to bowls.",
        "People keep telling me I should get back to swimming.",
        "I don't think I want to go swimming.",
        "I'm not sure I'd like to go to the gym.",
        "I'd love to go swimming. Actually no, I don't think I would.",
        "I'd like to try boccia. On second thoughts, maybe not.",
    ],
)
def test_when_the_wish_is_someone_elses_or_denied_then_no_goal_is_written(said: str) -> None:
    transcript = _transcript(("OT", "What would you like to do?"), ("client", said))
    assert draft_goals(transcript) == []


@pytest.mark.parametrize(
    ("said", "activity"),
    [
        ("I'd love to get back to swimming, three times a week.", "Swimming"),
        ("I'm not sure about the gym, but I'd love to get back to bowls.", "Bowls"),
        ("At the moment I want to get back to swimming.", "Swimming"),
        ("What I'd really like to do is get back to bowls.", "Bowls"),
        ("I can't wait to get back to swimming.", "Swimming"),
        ("If they have a hoist I'd love to get back to swimming.", "Swimming"),
        ("When my daughter visits I want to go to the walking group.", "Walking"),
        ("I don't want to go swimming, my goal is to walk to the shops.", "Walking"),
        ("I'd love to go swimming. I don't think I can manage the steps yet, though.", "Swimming"),
    ],
)
def test_when_the_person_wishes_it_themselves_then_the_goal_stays(said: str, activity: str) -> None:
    transcript = _transcript(("OT", "What would you like to do?"), ("client", said))
    assert [g.activity for g in draft_goals(transcript)] == [activity]


@pytest.mark.parametrize(
    ("said", "goals"),
    [
        (
            "I would like to get to the boccia group on my own, and swim once a week again.",
            [("Boccia", TO_AGREE, "on my own"), ("Swimming", "once a week", TO_AGREE)],
        ),
        ("I'd like to go swimming and walking with my friend.",
         [("Swimming", TO_AGREE, TO_AGREE), ("Walking", TO_AGREE, "with my friend")]),
        # the next sentence could be about either, so it is about neither ...
        ("I want to swim and play boccia. Twice a week would be good.",
         [("Swimming", TO_AGREE, TO_AGREE), ("Boccia", TO_AGREE, TO_AGREE)]),
        # ... unless it names one
        ("I want to swim and play boccia. Boccia twice a week would be good.",
         [("Swimming", TO_AGREE, TO_AGREE), ("Boccia", "twice a week", TO_AGREE)]),
        # what is said between the two goes with the first, up to the word that joins the second on
        ("I would like to get back to swimming, twice a week, and the boccia group on my own.",
         [("Swimming", "twice a week", TO_AGREE), ("Boccia", TO_AGREE, "on my own")]),
        # a second activity not joined on is part of the first wish
        ("I want to walk to the swimming pool by myself.", [("Walking", TO_AGREE, "by myself")]),
    ],
)
def test_when_one_sentence_wishes_for_two_activities_then_each_gets_a_goal_with_its_own_figures(
    said: str, goals: list[tuple[str, str, str]]
) -> None:
    transcript = _transcript(("OT", "What would you like to do?"), ("client", said))
    assert [(g.activity, g.measure, g.support) for g in draft_goals(transcript)] == goals


# ── a model's numbers, dates and odd JSON ───────────────────────────────────────────────────────

WALK = _transcript(
    ("OT", "What would you like to do?"),
    ("client", "I'd love to swim again, twice a week."),
    ("client", "I can walk about two hundred yards with my stick."),
)


def test_when_a_model_writes_a_number_or_month_nobody_said_then_the_statement_and_goal_are_flagged() -> None:
    draft = _model_draft(
        WALK,
        {
            "sections": [
                {
                    "id": "mobility_transfers",
                    "statements": [
                        {
                            "text": "Walks 500 yards with a stick.",
                            "evidence": [{"segment": 2, "quote": "I can walk about two hundred yards"}],
                        },
                        {
                            "text": "Walks about 200 yards with a stick.",
                            "evidence": [{"segment": 2, "quote": "I can walk about two hundred yards"}],
                        },
                    ],
                }
            ],
            "goals": [
                {
                    "text": "Swim 20 lengths twice a week by June.",
                    "activity": "Swimming",
                    "measure": "20 lengths twice a week",
                    "timeframe": "by June",
                    "evidence": [{"segment": 1, "quote": "I'd love to swim again"}],
                },
                {
                    "text": "Swim twice a week.",
                    "activity": "Swimming",
                    "measure": "2 times a week",
                    "evidence": [{"segment": 1, "quote": "I'd love to swim again"}],
                },
            ],
        },
    )
    invented, said = _section(draft, "mobility_transfers").statements
    assert invented.flagged and "500" in invented.flagged
    assert said.flagged is None
    made_up, kept = draft.goals
    assert made_up.flagged and "20" in made_up.flagged and "june" in made_up.flagged.lower()
    assert kept.flagged is None
    assert f"{UNSUPPORTED_MARK} Walks 500 yards" in _section(draft, "mobility_transfers").text


def test_when_a_models_goal_has_an_unsaid_figure_only_in_its_measure_or_time_frame_then_it_is_flagged() -> None:
    wish = [{"segment": 1, "quote": "I'd love to swim again"}]
    goal = {"text": "Swim again.", "activity": "Swimming", "evidence": wish}
    draft = _model_draft(
        WALK,
        {
            "sections": [],
            "goals": [
                {**goal, "measure": "twice a week", "timeframe": "within 12 weeks"},
                {**goal, "activity": "Swimming lessons", "measure": "30 lengths", "support": "with a friend"},
                {**goal, "activity": "Pool", "measure": "twice a week", "support": "on her own"},
            ],
        },
    )
    by_timeframe, by_measure, said = draft.goals
    assert by_timeframe.flagged and "12" in by_timeframe.flagged
    assert by_measure.flagged and "30" in by_measure.flagged
    assert said.flagged is None


def test_when_a_model_returns_nulls_or_a_bracketed_segment_id_then_the_draft_is_still_made() -> None:
    draft = _model_draft(
        WALK,
        {
            "sections": [
                {"id": "history", "text": None, "statements": None},
                {
                    "id": "mobility_transfers",
                    "text": None,
                    "statements": [
                        {"text": "Walks with a stick.", "evidence": [{"segment": "[2]", "quote": "with my stick"}]},
                        {"text": "Walks far.", "evidence": [{"segment": "somewhere", "quote": "walk about"}]},
                    ],
                },
            ],
            "goals": [
                {
                    "text": "Swim again.",
                    "activity": "Swimming",
                    "measure": None,
                    "support": None,
                    "timeframe": None,
                    "evidence": [{"segment": 1, "quote": "I'd love to swim again"}],
                }
            ],
        },
    )
    stick, far = _section(draft, "mobility_transfers").statements
    assert stick.evidence[0].segment == 2 and stick.flagged is None
    assert far.evidence[0].segment == 2 and far.evidence[0].verified  # re-pointed to the segment that says it
    (goal,) = draft.goals
    assert (goal.measure, goal.support, goal.timeframe) == (TO_AGREE, TO_AGREE, TO_AGREE)
    assert _section(draft, "history").status == "not_discussed"


def test_when_a_model_returns_a_section_twice_then_no_statement_is_lost() -> None:
    draft = _model_draft(
        WALK,
        {
            "sections": [
                {
                    "id": "mobility_transfers",
                    "statements": [
                        {
                            "text": "Walks about 200 yards.",
                            "evidence": [{"segment": 2, "quote": "walk about two hundred"}],
                        }
                    ],
                },
                {
                    "id": "mobility_transfers",
                    "statements": [{"text": "Uses a stick.", "evidence": [{"segment": 2, "quote": "with my stick"}]}],
                },
            ]
        },
    )
    assert _section(draft, "mobility_transfers").text == "Walks about 200 yards.\nUses a stick."
    assert any("mobility_transfers" in w and "2 times" in w for w in draft.warnings)


# ── export ───────────────────────────────────────────────────────────────────────────────────────


def _stored(text: str, **extra: Any) -> dict[str, Any]:
    content = {"template": "ot_initial_assessment", "sections": [{"id": "history", "title": "History", "text": text}]}
    content.update(extra.pop("content", {}))
    return {"status": "approved", "version": 1, "content": content, **extra}


def test_when_the_text_holds_control_characters_then_every_format_exports() -> None:
    doc = export.document(_stored("Client: “I live\x0bwith my wife.”\x00\x1b\ufeff"), {"reference": "A-1"}, {})
    from docx import Document as WordDocument

    word = WordDocument(io.BytesIO(export.render(doc, "docx")))
    paragraphs = [p.text for p in word.paragraphs]
    assert "Client: “I live" in paragraphs and "with my wife.”" in paragraphs
    assert export.render(doc, "pdf").startswith(b"%PDF")
    assert "\x0b" not in export.to_markdown(doc) and "\ufeff" not in export.to_markdown(doc)


def test_when_the_text_looks_like_markdown_or_html_then_the_markdown_export_shows_it_as_text() -> None:
    from markdown_it import MarkdownIt

    said = (
        "Client: “<img src=x onerror=alert(1)> see [my page](javascript:alert(1))”\n"
        "# 1 thing I want\n"
        "- [PERSON_1] helps with *shopping*\n"
        "[PERSON_1] consented.\n"
        "[x]: https://example.org\n"
        "---"
    )
    doc = export.document(_stored(said), {"reference": "<b>A-1</b>"}, {})
    html = MarkdownIt("commonmark").render(export.to_markdown(doc))
    assert "<img" not in html and "<b>" not in html and "<a " not in html
    history = html.split("<h2>History</h2>", 1)[1]
    assert "<h1>" not in history and "<em>" not in history and "<hr" not in history and "<ul>" not in history
    # each line stays its own paragraph, not run together with the next
    assert "<p># 1 thing I want</p>" in html
    assert "<p>- [PERSON_1] helps with *shopping*</p>" in html
    assert "\n[PERSON_1] consented.\n" in export.to_markdown(doc)  # a placeholder is written as it is
    assert "<p>[x]: https://example.org</p>" in html


def test_when_a_note_was_signed_off_then_the_export_gives_the_time_in_uk_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import time

    monkeypatch.setenv("TZ", "UTC")
    time.tzset()
    try:
        signed = datetime(2026, 7, 1, 8, 30, tzinfo=UTC)  # 09:30 in London (BST)
        doc = export.document(
            _stored("Client: “fine”", status="signed_off", signed_off_by="Lee Patel", signed_off_at=signed),
            {"reference": "A-1"},
            {},
        )
        assert dict(doc.facts)["Signed off"] == "Lee Patel 01 Jul 2026 09:30 (UK time)"
    finally:
        monkeypatch.undo()
        time.tzset()


def test_when_a_note_has_no_goals_section_then_each_goal_is_exported_once_and_a_flagged_one_is_marked() -> None:
    goals = [
        {
            "text": "Bowls: to take part in bowls; how much: twice a week; support: with my husband; "
            "by when: by the end of June.",
            "activity": "Bowls",
            "measure": "twice a week",
            "support": "with my husband",
            "timeframe": "by the end of June",
            "evidence": [],
        },
        {
            "text": "Run a marathon.",
            "activity": "Running",
            "measure": TO_AGREE,
            "support": TO_AGREE,
            "timeframe": TO_AGREE,
            "evidence": [],
            "flagged": "no quote in the transcript supports this goal: check or delete it",
        },
    ]
    stored = _stored("Client: “fine”", content={"template": "care_plan_entry", "goals": goals})
    doc = export.document(stored, {"reference": "A-1"}, {})
    assert doc.goals[0] == goals[0]["text"]
    assert doc.goals[1] == (f"{UNSUPPORTED_MARK} Run a marathon. (how much: {TO_AGREE}; by when: {TO_AGREE})")
