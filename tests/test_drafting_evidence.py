"""What counts as evidence, what a section's text may say, which wishes become goals, and what clean
verbatim may remove: the reviewer's cases, with the real drafters; only the chat model is scripted."""

from __future__ import annotations

from typing import Any

import pytest

from assistant.chat import ScriptedChat
from assistant.drafting import (
    NOT_DISCUSSED,
    TO_AGREE,
    UNSUPPORTED_MARK,
    ModelDrafter,
    clean_verbatim,
    draft_goals,
    verify_evidence,
)
from assistant.records import Draft, Evidence, Goal, Section, Segment, Statement, Transcript
from assistant.templates import load_template


def _transcript(*turns: tuple[str, str]) -> Transcript:
    segments = [
        Segment(id=i, start=i * 5.0, end=i * 5.0 + 4, text=text, speaker=speaker)  # type: ignore[arg-type]
        for i, (speaker, text) in enumerate(turns)
    ]
    return Transcript(text=" ".join(s.text for s in segments), duration=60, language="en", model="t", segments=segments)


def _model_draft(transcript: Transcript, reply: dict[str, Any]) -> Draft:
    return ModelDrafter(ScriptedChat().enqueue(reply)).draft(transcript, load_template("ot_initial_assessment"))


def _statement(draft: Draft, section: str) -> Statement:
    return next(s for s in draft.sections if s.id == section).statements[0]


def _section(draft: Draft, section: str) -> Section:
    return next(s for s in draft.sections if s.id == section)


FALLS = _transcript(("OT", "Any falls this year?"), ("client", "No, I live on my own in a bungalow."))


# ── 1. a quote must be meaningful, on word boundaries, and more than the OT's question ──────────


def test_when_a_model_cites_a_single_common_word_then_the_statement_and_goal_are_flagged() -> None:
    draft = _model_draft(
        FALLS,
        {
            "sections": [
                {
                    "id": "history",
                    "text": "",
                    "statements": [
                        {
                            "text": "Has vascular dementia and takes donepezil.",
                            "evidence": [{"segment": 1, "quote": "I"}],
                        }
                    ],
                }
            ],
            "goals": [
                {"text": "Swim 20 lengths weekly", "activity": "Swimming", "evidence": [{"segment": 1, "quote": "a"}]}
            ],
        },
    )
    invented = _statement(draft, "history")
    assert invented.flagged and not invented.evidence[0].verified
    assert draft.goals[0].flagged and not draft.goals[0].evidence[0].verified


def test_when_a_quote_is_only_the_ots_question_then_it_is_context_but_supports_nothing() -> None:
    draft = _model_draft(
        FALLS,
        {
            "sections": [
                {
                    "id": "risk",
                    "text": "",
                    "statements": [
                        {"text": "Two falls this year.", "evidence": [{"segment": 0, "quote": "falls this year"}]}
                    ],
                }
            ],
        },
    )
    statement = _statement(draft, "risk")
    assert statement.evidence[0].verified  # it is what the OT said
    assert statement.flagged and "only the OT's question" in statement.flagged
    assert _section(draft, "risk").text == f"{UNSUPPORTED_MARK} Two falls this year."


def test_when_the_person_answers_the_question_then_question_and_answer_together_support_it() -> None:
    transcript = _transcript(("OT", "Any falls this year?"), ("client", "Twice, yes. Both in the garden."))
    draft = _model_draft(
        transcript,
        {
            "sections": [
                {
                    "id": "risk",
                    "text": "",
                    "statements": [
                        {
                            "text": "Two falls this year, both in the garden.",
                            "evidence": [
                                {"segment": 0, "quote": "Any falls this year?"},
                                {"segment": 1, "quote": "Twice, yes."},
                            ],
                        }
                    ],
                }
            ],
        },
    )
    statement = _statement(draft, "risk")
    assert statement.flagged is None and all(e.verified for e in statement.evidence)


def test_when_a_quote_is_found_only_inside_a_longer_word_then_it_is_not_verified() -> None:
    transcript = _transcript(("OT", "Who is at home?"), ("other", "She lives alone since her husband died."))
    draft = Draft(
        template="t",
        sections=[
            Section(
                id="history",
                title="History",
                text="",
                statements=[Statement(text="He lives alone.", evidence=[Evidence(segment=1, quote="he lives alone")])],
            )
        ],
    )
    checked = verify_evidence(draft, transcript)
    statement = checked.sections[0].statements[0]
    assert not statement.evidence[0].verified and statement.flagged


def test_when_a_model_cites_the_wrong_segment_then_the_quote_is_moved_to_where_it_is_asserted() -> None:
    transcript = _transcript(
        ("OT", "Do you use a stick outdoors?"), ("client", "Yes. I use a stick outdoors, never indoors.")
    )
    draft = _model_draft(
        transcript,
        {
            "sections": [
                {
                    "id": "mobility_transfers",
                    "text": "",
                    "statements": [
                        {
                            "text": "Uses a stick outdoors.",
                            "evidence": [{"segment": 5, "quote": "use a stick outdoors"}],
                        },
                        {"text": "Has a hoist.", "evidence": [{"segment": 5, "quote": "a"}]},
                    ],
                }
            ],
        },
    )
    moved, short = _section(draft, "mobility_transfers").statements
    assert moved.evidence[0].segment == 1 and moved.flagged is None
    assert short.evidence[0].segment == 5 and short.flagged  # "a" is not re-pointed anywhere


# ── 2. the text shown is built from checked statements only ─────────────────────────────────────


def test_when_a_model_writes_section_text_beyond_its_statements_then_only_the_statements_are_shown() -> None:
    transcript = _transcript(("OT", "How are you getting on at home?"), ("client", "I live on my own in a bungalow."))
    draft = _model_draft(
        transcript,
        {
            "sections": [
                {
                    "id": "history",
                    "text": "Lives alone in a bungalow. Diagnosed with vascular dementia; takes donepezil 10mg.",
                    "statements": [
                        {
                            "text": "Lives alone in a bungalow.",
                            "evidence": [{"segment": 1, "quote": "I live on my own in a bungalow."}],
                        },
                        {"text": "Uses a wheelchair.", "evidence": [{"segment": 1, "quote": "I use a wheelchair"}]},
                    ],
                },
                {"id": "goals", "text": "- Swim 20 lengths twice a week by June."},
                {"id": "risk", "text": "High falls risk; safeguarding concern raised.", "statements": []},
            ],
            "goals": [],
        },
    )
    history = _section(draft, "history")
    assert history.text == f"Lives alone in a bungalow.\n{UNSUPPORTED_MARK} Uses a wheelchair."
    assert "donepezil" not in history.text
    assert (_section(draft, "goals").status, _section(draft, "goals").text) == ("not_discussed", NOT_DISCUSSED)
    assert (_section(draft, "risk").status, _section(draft, "risk").text) == ("not_discussed", NOT_DISCUSSED)
    said_more = [w for w in draft.warnings if "own wording" in w]
    assert said_more and all(s in said_more[0] for s in ("history", "goals", "risk"))


def test_when_a_model_drafts_goals_then_the_goals_section_lists_them_with_unsupported_ones_marked() -> None:
    transcript = _transcript(("OT", "What would you like to do?"), ("client", "I'd love to swim again, twice a week."))
    draft = _model_draft(
        transcript,
        {
            "sections": [{"id": "goals", "text": "- Swim twice a week.\n- Run a marathon."}],
            "goals": [
                {
                    "text": "Swim twice a week.",
                    "activity": "Swimming",
                    "evidence": [{"segment": 1, "quote": "I'd love to swim again"}],
                },
                {"text": "Run a marathon.", "activity": "Running", "evidence": [{"segment": 1, "quote": "marathon"}]},
            ],
        },
    )
    goals = _section(draft, "goals")
    assert goals.status == "drafted"
    assert goals.text == f"- Swim twice a week.\n- {UNSUPPORTED_MARK} Run a marathon."


# ── 3. goals only from what the person wants to do ──────────────────────────────────────────────


@pytest.mark.parametrize(
    "turns",
    [
        [
            ("OT", "How about activities?"),
            ("client", "I want to give up the walking football, my knees can't take it."),
        ],
        [("OT", "Anything you'd like to do?"), ("client", "I want to stop swimming, I hate the changing rooms.")],
        [("OT", "Anything else?"), ("client", "I'm hoping to not have to do yoga again, I hated yoga.")],
        [("OT", "Anything else?"), ("client", "I'd like to quit the gym, it costs too much.")],
        [("OT", "Would you try boccia at the leisure centre?"), ("client", "I want to go home really, I'm tired.")],
    ],
    ids=["give-up", "stop", "not-have-to", "quit", "declined-suggestion"],
)
def test_when_the_person_turns_an_activity_down_then_no_goal_is_written_for_it(turns: list[tuple[str, str]]) -> None:
    assert draft_goals(_transcript(*turns)) == []


def test_when_the_next_sentence_is_about_another_activity_then_it_gives_the_goal_nothing() -> None:
    goals = draft_goals(
        _transcript(
            ("OT", "What matters to you?"),
            ("client", "I'd love to swim again. I walk the dog every day with my daughter."),
        )
    )
    assert [g.activity for g in goals] == ["Swimming"]
    assert (goals[0].measure, goals[0].support) == (TO_AGREE, TO_AGREE)
    assert [e.quote for e in goals[0].evidence] == ["I'd love to swim again."]


def test_when_the_next_sentence_goes_on_about_the_wish_then_its_measure_and_support_are_used() -> None:
    goals = draft_goals(
        _transcript(
            ("OT", "What matters to you?"),
            (
                "client",
                "I'd love to swim again. Twice a week, with my daughter. I go to church every Sunday with my son.",
            ),
        )
    )
    assert (goals[0].measure, goals[0].support) == ("Twice a week", "with my daughter")
    assert [e.quote for e in goals[0].evidence] == ["I'd love to swim again.", "Twice a week, with my daughter."]


def test_when_a_sentence_wishes_one_thing_away_and_another_in_then_the_goal_is_the_one_wanted() -> None:
    goals = draft_goals(_transcript(("client", "I want to stop going to the gym and I'd love to try tai chi.")))
    assert [g.activity for g in goals] == ["Tai Chi"]


@pytest.mark.parametrize(
    ("said", "activity", "measure"),
    [
        (
            "I want to stop relying on my daughter and go swimming on my own again, twice a week.",
            "Swimming",
            "twice a week",
        ),
        ("I'd like to stop sitting at home all day and join a walking group.", "Walking", TO_AGREE),
        ("I want to be able to stop using the frame and walk to the park.", "Walking", TO_AGREE),
        ("I want to stop the gym and go swimming.", "Swimming", TO_AGREE),
        ("I want to give up the swimming, to be fair, and go to the gym", "Gym Workout", TO_AGREE),
    ],
    ids=["stop-relying", "stop-sitting", "stop-using-the-frame", "stop-one-activity-for-another", "past-filler"],
)
def test_when_a_wish_stops_one_thing_and_goes_on_to_another_then_the_goal_is_the_one_that_follows(
    said: str, activity: str, measure: str
) -> None:
    goals = draft_goals(_transcript(("OT", "What would you like to be doing?"), ("client", said)))
    assert [(g.activity, g.measure) for g in goals] == [(activity, measure)]


def test_when_the_turned_down_part_names_a_second_thing_then_no_goal_is_written_for_either() -> None:
    goals = draft_goals(_transcript(("client", "I want to give up the walking football and the bowls, too much.")))
    assert goals == []


@pytest.mark.parametrize(
    "said",
    [
        "I want to give up the swimming, to be honest, and the gym.",
        "I want to give up the swimming, to be fair, and the gym.",
        "I want to give up the swimming, if I'm honest, and the gym.",
        "I want to give up the swimming, I mean, and the gym.",
        "I want to give up the swimming, you know, and the gym.",
        "I want to give up the swimming and, to be honest, the gym.",
    ],
    ids=["to-be-honest", "to-be-fair", "if-im-honest", "i-mean", "you-know", "filler-after-and"],
)
def test_when_filler_follows_the_turned_down_part_then_what_comes_after_stays_turned_down(said: str) -> None:
    """Filler is not a wish: "to be honest" is no "to ... be" verb, and a bare "and the gym" after it is
    still part of what was turned down."""
    assert draft_goals(_transcript(("OT", "What would you like to be doing?"), ("client", said))) == []


@pytest.mark.parametrize(
    ("said", "activities"),
    [
        ("I don't want to do the gym, but I'd love to go swimming.", ["Swimming"]),
        ("I never liked the gym. But I'd love to go swimming again.", ["Swimming"]),
        ("I don't want to do the gym, but I'd love to go to the allotment.", []),
        ("Swimming, I'd love to get back to it.", ["Swimming"]),
    ],
)
def test_when_something_is_turned_down_before_the_wish_then_the_goal_is_only_what_is_wished_for(
    said: str, activities: list[str]
) -> None:
    goals = draft_goals(_transcript(("OT", "What would you like to be doing?"), ("client", said)))
    assert [g.activity for g in goals] == activities


def test_when_the_person_agrees_to_the_activity_the_ot_named_then_the_goal_takes_it_from_the_question() -> None:
    goals = draft_goals(
        _transcript(("OT", "Would you try boccia at the leisure centre?"), ("client", "Yes. I want to give it a go."))
    )
    assert [g.activity for g in goals] == ["Boccia"]


# ── 4. clean verbatim removes only disfluencies ─────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("said", "clean"),
    [
        ("My son Will will drive me there.", "My son Will will drive me there."),
        ("I had had a fall the week before.", "I had had a fall the week before."),
        ("It's a two- or three-minute walk.", "It's a two- or three-minute walk."),
        ("I think that that is right.", "I think that that is right."),
        ("The the bus is late.", "The bus is late."),
        ("I I I want to swim.", "I want to swim."),
        ("wh- what did you say", "What did you say"),
    ],
)
def test_when_speech_is_cleaned_then_only_true_disfluencies_go(said: str, clean: str) -> None:
    assert clean_verbatim(said) == clean


def test_when_goals_are_checked_then_a_goal_the_offline_drafter_writes_is_supported() -> None:
    transcript = _transcript(("OT", "Bowls?"), ("client", "Yes. I want to be back on the green by April."))
    draft = Draft(template="t", sections=[], goals=draft_goals(transcript))
    checked = verify_evidence(draft, transcript)
    assert [g.activity for g in checked.goals] == ["Bowls"]
    assert all(isinstance(g, Goal) and g.flagged is None for g in checked.goals)
