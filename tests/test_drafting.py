"""The offline drafter over every golden OT case, the model drafter with a scripted model, and ACI-Bench plumbing.

The golden checks are the issue's "done when": every evidence quote is verbatim in the
segment it cites, no planted false fact appears, every goal names the activity the person
asked for, and nothing is invented (each statement is a clean-verbatim quote with a speaker
label, or a labelled template line).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from assistant.activities import activity_list
from assistant.chat import ScriptedChat
from assistant.drafting import (
    FOR_OT,
    NOT_DISCUSSED,
    TO_AGREE,
    ModelDrafter,
    OfflineDrafter,
    clean_verbatim,
    draft_goals,
    signposting_question,
    split_sentences,
)
from assistant.errors import BadInput, ModelError
from assistant.evaluation.golden import GoldenCase, load_cases
from assistant.records import Draft, Transcript
from assistant.templates import Template, load_template

FOLDER = Path(__file__).resolve().parents[1] / "evals" / "data" / "ot"
WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
CASES = load_cases(FOLDER)


def words(text: str) -> list[str]:
    return WORD.findall(text.lower().replace("’", "'"))


def is_subsequence(short: list[str], long: list[str]) -> bool:
    it = iter(long)
    return all(any(w == x for x in it) for w in short)


def note_text(draft: Draft) -> str:
    """Everything a reader sees: titles, section texts, statements and goals."""
    parts: list[str] = []
    for section in draft.sections:
        parts += [section.title, section.text, *(st.text for st in section.statements)]
    parts += [g.text for g in draft.goals]
    return "\n".join(parts)


@pytest.fixture(scope="module")
def ot_template() -> Template:
    return load_template("ot_initial_assessment")


@pytest.fixture(scope="module")
def drafts(embedder: Any, ot_template: Template) -> dict[str, Draft]:
    drafter = OfflineDrafter(embedder)
    return {case.id: drafter.draft(case.to_transcript(), ot_template) for case in CASES}


def _case_ids() -> list[str]:
    return [case.id for case in CASES]


def _case(case_id: str) -> GoldenCase:
    return next(c for c in CASES if c.id == case_id)


# ── the golden set: what "done" means ───────────────────────────────────────


def test_when_the_golden_set_is_drafted_then_there_are_at_least_ten_cases(drafts: dict[str, Draft]) -> None:
    assert len(drafts) >= 10


@pytest.mark.parametrize("case_id", _case_ids())
def test_when_a_case_is_drafted_offline_then_every_quote_is_verbatim_in_its_segment(
    case_id: str, drafts: dict[str, Draft]
) -> None:
    case, draft = _case(case_id), drafts[case_id]
    turns = [t.text for t in case.transcript]
    quotes = [e for s in draft.sections for st in s.statements for e in st.evidence]
    quotes += [e for g in draft.goals for e in g.evidence]
    assert quotes, "a drafted note with no evidence at all"
    for evidence in quotes:
        assert 0 <= evidence.segment < len(turns)
        assert evidence.quote.strip() and evidence.quote in turns[evidence.segment], evidence
        assert evidence.verified
    assert not [st for s in draft.sections for st in s.statements if st.flagged]


@pytest.mark.parametrize("case_id", _case_ids())
def test_when_a_case_is_drafted_offline_then_no_planted_false_fact_appears(
    case_id: str, drafts: dict[str, Draft]
) -> None:
    case, text = _case(case_id), note_text(drafts[case_id])
    found = {item.fact: item.found_in(text) for item in case.facts.must_not}
    assert not {fact: hits for fact, hits in found.items() if hits}


@pytest.mark.parametrize("case_id", _case_ids())
def test_when_a_case_is_drafted_offline_then_every_goal_names_the_activity_asked_for(
    case_id: str, drafts: dict[str, Draft]
) -> None:
    case, draft = _case(case_id), drafts[case_id]
    concepts = activity_list()
    for gold in case.facts.goals:
        wanted = {c.id for c in concepts.find(gold.activity)}
        named = [
            g
            for g in draft.goals
            if wanted & {c.id for c in concepts.find(f"{g.activity} {g.text}")}
            or gold.activity.lower() in g.text.lower()
        ]
        assert named, f"no goal names {gold.activity!r}; drafted: {[g.text for g in draft.goals]}"


@pytest.mark.parametrize("case_id", _case_ids())
def test_when_a_case_is_drafted_offline_then_nothing_is_invented(
    case_id: str, drafts: dict[str, Draft], ot_template: Template
) -> None:
    draft = drafts[case_id]
    labels = {"OT", "Client", "Carer/family", "Speaker"}
    specs = {s.id: s for s in ot_template.sections}
    assert [s.id for s in draft.sections] == list(specs)
    for section in draft.sections:
        spec = specs[section.id]
        if spec.drafted_by == "ot":
            assert (section.text, section.status, section.statements) == (FOR_OT, "for_ot", [])
            continue
        if spec.drafted_by == "goals":
            assert section.text == ("\n".join(f"- {g.text}" for g in draft.goals) or NOT_DISCUSSED)
            continue
        if not section.statements:
            assert (section.text, section.status) == (NOT_DISCUSSED, "not_discussed")
            continue
        assert section.text == "\n".join(st.text for st in section.statements)
        for statement in section.statements:
            label, _, body = statement.text.partition(": ")
            assert label in labels, statement.text
            assert body.startswith("“") and body.endswith("”"), statement.text
            said = words(statement.evidence[0].quote)
            assert words(body) and is_subsequence(words(body), said), (statement.text, said)
    for goal in draft.goals:
        quoted = " ".join(e.quote for e in goal.evidence).lower()
        assert any(c.label == goal.activity for c, _ in activity_list().mentions(quoted)), goal
        for part in (goal.measure, goal.support, goal.timeframe):
            assert part == TO_AGREE or part.lower() in quoted, (part, quoted)


@pytest.mark.parametrize("case_id", _case_ids())
def test_when_goals_are_drafted_then_they_are_smart_with_visible_placeholders(
    case_id: str, drafts: dict[str, Draft]
) -> None:
    case, draft = _case(case_id), drafts[case_id]
    transcript = case.to_transcript()
    for goal in draft.goals:
        for part in (goal.activity, goal.measure, goal.support, goal.timeframe):
            assert part and part in goal.text
        assert TO_AGREE in goal.text or all(TO_AGREE not in p for p in (goal.measure, goal.support, goal.timeframe))
        # the wish is the person's own: the first quote comes from the client
        assert transcript.segments[goal.evidence[0].segment].speaker == "client", goal


@pytest.mark.parametrize("case_id", _case_ids())
def test_when_sentences_are_chosen_then_none_could_plant_a_false_fact(case_id: str, embedder: Any) -> None:
    """Stronger than checking the final note: no sentence the drafter may place matches a must_not pattern
    (the friend's Parkinson's medication, the sister's cancer, the wife saying he no longer wants to dance)."""
    case = _case(case_id)
    candidates = OfflineDrafter(embedder).candidates(case.to_transcript())
    assert candidates
    for utterance in candidates:
        for item in case.facts.must_not:
            assert not item.found_in(utterance.clean), (item.fact, utterance.text)


def test_when_the_carer_speaks_for_the_person_then_it_is_not_their_wish(drafts: dict[str, Draft]) -> None:
    case = next(c for c in CASES if c.adversarial and "wife" in c.adversarial)
    carer_turns = [i for i, t in enumerate(case.transcript) if t.speaker == "Carer"]
    wish_turns = [i for i in carer_turns if re.search(r"\bhe (?:doesn't|does not|won't) want", case.transcript[i].text)]
    assert wish_turns, "the adversarial case should contain the carer's contrary wish"
    quoted = {e.segment for s in drafts[case.id].sections for st in s.statements for e in st.evidence}
    assert not quoted & set(wish_turns)
    assert "danc" in " ".join(g.activity.lower() for g in drafts[case.id].goals)
    assert "day centre" not in " ".join(g.text.lower() for g in drafts[case.id].goals)


def test_when_the_person_talks_about_a_friend_then_the_friend_is_not_written_up_as_them(
    drafts: dict[str, Draft],
) -> None:
    case = next(c for c in CASES if c.adversarial and "friend" in c.adversarial)
    friend_turns = [i for i, t in enumerate(case.transcript) if re.search(r"careldopa|breast cancer", t.text)]
    assert friend_turns
    text = note_text(drafts[case.id]).lower()
    assert "careldopa" not in text
    assert not re.search(r"she goes to tai chi|she had breast cancer", text)


def test_when_the_same_transcript_is_drafted_twice_then_the_draft_is_identical(
    embedder: Any, ot_template: Template
) -> None:
    transcript = CASES[0].to_transcript()
    first = OfflineDrafter(embedder).draft(transcript, ot_template)
    second = OfflineDrafter(embedder).draft(transcript, ot_template)
    assert first.model_dump() == second.model_dump()


# ── coordinator templates ───────────────────────────────────────────────────


@pytest.mark.parametrize("template_id", ["care_plan_entry", "supporting_letter"])
def test_when_a_coordinator_template_is_drafted_offline_then_it_fills_from_quotes(
    template_id: str, embedder: Any
) -> None:
    template = load_template(template_id)
    case = CASES[0]
    draft = OfflineDrafter(embedder).draft(case.to_transcript(), template)
    assert draft.template == template_id
    assert [s.id for s in draft.sections] == [s.id for s in template.sections]
    filled = [s for s in draft.sections if s.status == "drafted"]
    assert len(filled) >= len(template.sections) - 1
    for section in filled:
        for st in section.statements:
            assert st.evidence and all(e.verified for e in st.evidence)
            assert st.evidence[0].quote in case.transcript[st.evidence[0].segment].text
    assert bool(draft.goals) == template.goals


# ── building blocks ─────────────────────────────────────────────────────────


@pytest.mark.parametrize(
    ("said", "clean"),
    [
        ("uh , usually , it was lifting or carrying something .", "Usually, it was lifting or carrying something."),
        ("we- we're not wearing masks as much", "We're not wearing masks as much"),
        ("i , i got really winded .", "I got really winded."),
        ("my elbows hurt , you know , quite a bit", "My elbows hurt, quite a bit"),
        ("I'd love to get back in the pool.", "I'd love to get back in the pool."),
    ],
)
def test_when_speech_is_cleaned_then_words_are_only_ever_removed(said: str, clean: str) -> None:
    assert clean_verbatim(said) == clean
    assert is_subsequence(words(clean), words(said))


def test_when_lower_case_asr_text_is_split_then_each_sentence_is_a_verbatim_piece() -> None:
    text = "hi , andrew . how are you ? i saw dr. smith last week . it hurts !"
    sentences = split_sentences(text)
    assert sentences == ["hi , andrew .", "how are you ?", "i saw dr. smith last week .", "it hurts !"]
    assert all(s in text for s in sentences)


def test_when_a_wish_names_no_activity_then_the_goal_takes_it_from_the_question_before() -> None:
    transcript = Transcript.from_text(
        "OT: What's the main thing you want to get back to? Bowls?\n"
        "Client: Yes. I want to be back on the green by the start of the season in April, twice a week.\n"
        "Carer: He wants to go to the day centre.\n"
        "Client: I don't want to go swimming."
    )
    goals = draft_goals(transcript)
    assert [g.activity for g in goals] == ["Bowls"]
    assert goals[0].timeframe != TO_AGREE and goals[0].measure == "twice a week"
    assert goals[0].support == TO_AGREE and TO_AGREE in goals[0].text
    assert {e.segment for e in goals[0].evidence} == {0, 1}


def test_when_a_broader_and_a_narrower_activity_are_both_wished_for_then_there_is_one_goal() -> None:
    transcript = Transcript.from_text(
        "OT: What would you most like to get back to?\n"
        "Client: I want to get back to football, it's my life.\n"
        "OT: Playing?\n"
        "Client: I'd like to play walking football, once a week."
    )
    goals = draft_goals(transcript)
    assert [g.activity for g in goals] == ["Walking Football"]
    assert goals[0].measure == "once a week"
    assert {e.segment for e in goals[0].evidence} == {1, 3}


# ── the model drafter, with a scripted model ────────────────────────────────


def _model_reply(case: GoldenCase) -> dict[str, Any]:
    wish = case.facts.goals[0]
    turn = case.turn_of(wish.says)
    fact = case.facts.key_issues[0]
    return {
        "sections": [
            {
                "id": fact.section,
                "text": fact.fact,
                "statements": [
                    {"text": fact.fact, "evidence": [{"segment": case.turn_of(fact.quote), "quote": fact.quote}]},
                    {"text": "Uses a wheelchair.", "evidence": [{"segment": 1, "quote": "I use a wheelchair"}]},
                    # right quote, wrong segment: re-pointed, not flagged
                    {"text": fact.fact, "evidence": [{"segment": 0, "quote": fact.quote}]},
                ],
            },
            {"id": "analysis", "text": "Motivated; fatigue limits participation.", "statements": []},
            {"id": "invented_section", "text": "x", "statements": []},
        ],
        "goals": [
            {
                "text": f"{wish.activity} weekly",
                "activity": wish.activity,
                "measure": "",
                "evidence": [{"segment": turn, "quote": wish.says}],
            }
        ],
    }


def test_when_a_model_drafts_then_unsupported_statements_are_flagged_and_the_analysis_stays_the_ots() -> None:
    case = CASES[0]
    template = load_template("ot_initial_assessment")
    chat = ScriptedChat().enqueue(_model_reply(case))
    draft = ModelDrafter(chat).draft(case.to_transcript(), template)
    by_id = {s.id: s for s in draft.sections}
    good, invented, moved = by_id[case.facts.key_issues[0].section].statements
    assert good.flagged is None and all(e.verified for e in good.evidence)
    assert invented.flagged and not invented.evidence[0].verified
    assert moved.flagged is None and moved.evidence[0].segment == case.turn_of(case.facts.key_issues[0].quote)
    assert by_id["analysis"].status == "for_ot" and by_id["analysis"].text.startswith(FOR_OT)
    assert "invented_section" not in by_id and any("invented_section" in w for w in draft.warnings)
    assert any("no quote found" in w for w in draft.warnings)
    assert draft.goals[0].measure == TO_AGREE and draft.goals[0].flagged is None
    assert draft.usage["calls"] == 1 and draft.drafter == "scripted"
    _system, user = chat.history[0]
    assert "[0]" in user and case.transcript[0].text in user


def test_when_a_scripted_model_returns_junk_then_it_is_a_clear_model_error() -> None:
    chat = ScriptedChat().enqueue("Sure! Here is your note: sections are fine.")
    with pytest.raises(ModelError, match="did not return JSON"):
        ModelDrafter(chat).draft(CASES[0].to_transcript(), load_template("soap_note"))


# ── ACI-Bench plumbing ──────────────────────────────────────────────────────


def test_when_aci_dialogue_is_read_then_speakers_map_and_untagged_lines_continue(shared_data: Path) -> None:
    from assistant.evaluation.aci import aci_transcript

    transcript = aci_transcript(
        "[doctor] hi , andrew .\n[patient] hey .\nmore from him .\n[patient_guest] i'm his wife ."
    )
    assert [s.speaker for s in transcript.segments] == ["OT", "client", "client", "other"]
    assert transcript.segments[2].text == "more from him ."


def test_when_the_whole_transcript_is_scored_then_rouge_reproduces_the_papers_baseline(shared_data: Path) -> None:
    """Checks the metric, not the drafter: the paper's 'transcript' row is 32.84 / 12.53 / 30.61."""
    from assistant.evaluation.aci import BASELINES, load_encounters, score_system

    encounters = load_encounters(shared_data / "aci-bench", "test1")
    score = score_system("transcript", [BASELINES["transcript"](e.dialogue) for e in encounters], encounters)
    assert (score.rouge1, score.rouge2, score.rougeL) == pytest.approx((32.84, 12.53, 30.61), abs=0.01)


def test_when_an_aci_train_encounter_is_drafted_then_the_soap_note_is_shorter_and_quoted(
    shared_data: Path, embedder: Any
) -> None:
    from assistant.evaluation.aci import aci_transcript, load_encounters, note_text, rouge

    encounter = load_encounters(shared_data / "aci-bench", "train", limit=1)[0]
    transcript = aci_transcript(encounter.dialogue)
    draft = OfflineDrafter(embedder).draft(transcript, load_template("soap_note"))
    text = note_text(draft)
    assert len(text) < len(encounter.dialogue)
    statements = [st for s in draft.sections for st in s.statements]
    assert statements and all(st.text.split(": ", 1)[0] in {"Clinician", "Patient", "Family"} for st in statements)
    assert all(e.verified for st in statements for e in st.evidence)
    assert rouge(text, encounter.note)["rouge1"] > 0.3


def test_when_the_ot_refines_with_a_model_then_the_request_and_draft_go_in_and_evidence_is_rechecked() -> None:
    case = CASES[0]
    template = load_template("ot_initial_assessment")
    reply = _model_reply(case)
    chat = ScriptedChat().enqueue(reply, reply)
    drafter = ModelDrafter(chat)
    first = drafter.draft(case.to_transcript(), template)
    refined = drafter.refine(first, case.to_transcript(), template, "add that he uses a stick outdoors")
    _system, user = chat.history[1]
    assert "The OT asks: add that he uses a stick outdoors" in user and "The current draft (JSON)" in user
    assert any(st.flagged for s in refined.sections for st in s.statements)  # the invented one is still flagged
    assert refined.usage["calls"] == 1 and chat.usage.calls == 2
    with pytest.raises(BadInput, match="say what to change"):
        drafter.refine(first, case.to_transcript(), template, "  ")


def test_when_a_goal_feeds_signposting_then_only_known_parts_make_the_question() -> None:
    goals = draft_goals(Transcript.from_text("Client: I'd love to swim again, twice a week, with my daughter."))
    assert signposting_question(goals[0], town="Colchester") == "swimming with my daughter twice a week in Colchester"
    bare = draft_goals(Transcript.from_text("Client: I want to try tai chi."))[0]
    assert signposting_question(bare) == "tai chi"
