"""Signposting over the sample directory with the real MiniLM and Chroma: constraints, no-answer, follow-ups."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from assistant.chat import ScriptedChat
from assistant.directory import import_path
from assistant.signposting import ActivityIndex, Question, Signposter, load_towns, parse_question, register

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "knowledge" / "sample-directory.json"
TOWNS = ROOT / "knowledge" / "towns.yaml"


@pytest.fixture(scope="module")
def rules(gold_rules: Any) -> Any:
    return gold_rules


@pytest.fixture(scope="module")
def raw(rules: Any) -> dict[str, dict[str, Any]]:
    return {s["id"]: s for s in rules.load_services(SAMPLE)}


@pytest.fixture(scope="module")
def index(embedder: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ActivityIndex]:
    register()
    built = ActivityIndex(tmp_path_factory.mktemp("index"), embedder, towns=load_towns(TOWNS))
    built.upsert(import_path(SAMPLE).activities)
    yield built


@pytest.fixture(scope="module")
def signposter(index: ActivityIndex) -> Signposter:
    return Signposter(index)


# ── reading the question (no model) ─────────────────────────────────────────


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Swimming near Colchester on a Tuesday morning", {"towns": ["colchester"], "near": True, "days": ["TU"],
                                                            "times": ["morning"], "activities": ["Swimming"]}),
        ("walking football in Southend on weekday evenings", {"towns": ["southend-on-sea"], "times": ["evening"],
                                                              "days": ["MO", "TU", "WE", "TH", "FR"]}),
        ("aquafit with a hoist or a Pool Pod", {"needs_any": ["hoist", "pool_pod"], "activities": ["Aqua Fit"]}),
        ("tai chi with step-free access", {"needs": ["step_free"], "free": False}),
        ("free boccia where the carer goes free", {"free": True, "carer_free": True}),
        ("boccia where a parent or carer can come along free", {"free": False, "carer_free": True}),
        ("a 62-year-old man", {"age": 62, "person_gender": "male", "gender": None}),
        ("women-only yoga for a beginner", {"gender": "female", "person_gender": None, "level": "beginner"}),
        ("wheelchair rugby in Chelmsford", {"needs": [], "activities": ["Wheelchair Rugby"]}),
        ("a venue with a Changing Places toilet and accessible changing rooms",
         {"needs": ["changing_places", "accessible_changing"]}),
        ("his knees can't take running any more", {"activities": []}),
    ],
)
def test_when_a_question_is_read_then_its_constraints_are_found(text: str, expected: dict[str, Any]) -> None:
    q = parse_question(text, load_towns(TOWNS))
    for key, value in expected.items():
        assert getattr(q, key) == value, key


# ── every constraint holds in every result ──────────────────────────────────


@pytest.mark.parametrize(
    ("question", "constraints"),
    [
        ("Swimming on a Saturday", {"days": ["SA"]}),
        ("Any exercise class in the afternoon?", {"time_of_day": "afternoon"}),
        ("Something in the evening in Chelmsford", {"time_of_day": "evening", "towns": ["Chelmsford"]}),
        ("Walking football near Basildon", {"towns": ["Basildon", "Billericay", "Brentwood", "Canvey Island",
                                                      "Grays", "Rayleigh", "Wickford"]}),
        ("Swimming with a pool hoist", {"accessibility": ["Pool hoist"]}),
        ("Activities in a building with a Changing Places toilet", {"accessibility": ["Changing Places toilet"]}),
        ("Aquafit at a pool with a hoist or a Pool Pod", {"accessibility_any": ["Pool hoist", "Pool Pod"]}),
        ("Somewhere wheelchair accessible for boccia", {"accessibility": ["Wheelchair accessible"]}),
        ("Free walking groups", {"free": True}),
        ("Swimming where her carer can go in free", {"carer_free": True}),
        ("Walking netball for an intermediate player", {"level": "intermediate"}),
        ("Yoga for a complete beginner", {"level": "beginner"}),
        ("Women-only swimming", {"gender": "female"}),
        ("Swimming for my male client", {"person_gender": "male"}),
        ("Boccia for a 14-year-old", {"age": 14}),
        ("Gym for a 70-year-old", {"age": 70}),
    ],
)
def test_when_a_constraint_is_stated_then_every_result_meets_it(
    signposter: Signposter, rules: Any, raw: dict[str, dict[str, Any]], question: str, constraints: dict[str, Any]
) -> None:
    answer, _ = signposter.ask(question, 5)
    assert answer.results, answer.answer
    for match in answer.results:
        assert rules.meets(raw[match.id], constraints), (match.name, match.why)


def test_when_near_duplicates_differ_in_one_constraint_then_the_answers_differ(signposter: Signposter) -> None:
    hoist, _ = signposter.ask("Swimming in Colchester on a Tuesday morning with a hoist", 5)
    pod, _ = signposter.ask("Swimming in Colchester on a Tuesday morning with a Pool Pod", 5)
    assert hoist.results and pod.results
    assert {m.id for m in hoist.results}.isdisjoint({m.id for m in pod.results})
    assert all("hoist" in m.accessibility for m in hoist.results)
    assert all("pool_pod" in m.accessibility for m in pod.results)


def test_when_the_question_has_no_activity_word_then_meaning_finds_it(signposter: Signposter) -> None:
    answer, _ = signposter.ask("A team game for someone who is blind", 5)
    assert answer.results and answer.results[0].name.startswith("Goalball")


# ── nothing suitable ────────────────────────────────────────────────────────


def test_when_nothing_meets_the_constraints_then_no_results_and_the_blocking_constraint_is_named(
    signposter: Signposter,
) -> None:
    answer, _ = signposter.ask("Swimming in Harwich at a pool with a hoist", 5)
    assert answer.results == []
    assert answer.answer.startswith("Nothing suitable was found")
    assert "What could not be met: in Harwich" in answer.answer
    assert "Available in a nearby town" in answer.answer and "Colchester" in answer.answer


def test_when_only_the_day_blocks_then_another_day_is_suggested(signposter: Signposter) -> None:
    answer, _ = signposter.ask("Goalball in Chelmsford on a Sunday", 5)
    assert answer.results == []
    assert "What could not be met: on Sunday" in answer.answer
    assert "Available on another day: Goalball" in answer.answer


def test_when_the_town_has_no_activities_then_no_results(signposter: Signposter) -> None:
    answer, _ = signposter.ask("Wheelchair rugby in Saffron Walden", 5)
    assert answer.results == [] and "in Saffron Walden" in answer.answer


# ── follow-up questions keep their context ──────────────────────────────────


def test_when_asked_what_about_thursdays_then_the_activity_and_town_are_kept(signposter: Signposter) -> None:
    first, context = signposter.ask("Walking football in Chelmsford on a Monday evening?", 5)
    assert first.results and all(m.days == ["Monday"] for m in first.results)
    second, context = signposter.ask("What about Thursdays?", 5, context=context)
    assert second.results
    assert all(m.days == ["Thursday"] and m.town == "Chelmsford" for m in second.results)
    assert all("Walking Football" in m.name for m in second.results)
    third, _ = signposter.ask("and near Witham?", 5, context=context)
    assert all(m.town in {"Witham", "Braintree", "Chelmsford", "Colchester", "Halstead", "Maldon"}
               for m in third.results)
    fresh, _ = signposter.ask("Boccia in Southend", 5, context=context)  # a new activity is a new question
    assert fresh.results and all(m.town == "Southend-on-Sea" for m in fresh.results)


# ── grounded answers with a model ───────────────────────────────────────────


def test_when_the_model_cites_only_results_then_its_answer_is_used_else_the_template(index: ActivityIndex) -> None:
    question = "Goalball in Chelmsford"
    plain, _ = Signposter(index).ask(question, 5)
    gid = plain.results[0].id
    chat = ScriptedChat().enqueue(
        {"answer": f"Try Goalball at Abbeyfield [{gid}].", "cited": [gid]},
        {"answer": "Try the made-up club [not-a-real-id].", "cited": ["not-a-real-id"]},
    )
    grounded, _ = Signposter(index, chat=chat).ask(question, 5)
    assert grounded.answer == f"Try Goalball at Abbeyfield [{gid}]."
    assert "Goalball in Chelmsford" in chat.history[0][1] and gid in chat.history[0][1]
    invented, _ = Signposter(index, chat=chat).ask(question, 5)
    assert invented.answer == plain.answer and "not-a-real-id" not in invented.answer


# ── the eval and the CLI ────────────────────────────────────────────────────


def test_when_the_eval_runs_then_targets_are_met_and_the_dense_baseline_breaks_constraints() -> None:
    from assistant.evaluation.retrieval import render, run

    report = run(ROOT / "evals" / "signposting.yaml")
    assert report.passed, render(report)
    assert report.system.violations_top3 <= 0.05 < report.baseline.violations_top3
    assert report.baseline.unanswerable_empty == 0.0
    assert json.loads(json.dumps(report.model_dump(mode="json")))["checks"] == report.checks
    assert "hit@5" in render(report) and "dense MiniLM only" in render(report)


def test_when_asking_a_batch_through_the_cli_then_one_document_a_line(services: Any, tmp_path: Path) -> None:
    from assistant.cli import main

    runner = CliRunner()
    ingest = runner.invoke(main, ["kb", "ingest", "--json", str(SAMPLE)])
    assert ingest.exit_code == 0, ingest.output
    counts = json.loads(ingest.stdout)
    assert counts["rejected"] == 0 and counts["imported"] + counts["updated"] >= 150
    again = json.loads(runner.invoke(main, ["kb", "ingest", "--json", str(SAMPLE)]).stdout)
    assert again["imported"] == 0 and again["updated"] == counts["imported"] + counts["updated"]  # upsert by id
    batch = tmp_path / "questions.txt"
    batch.write_text("Walking football in Chelmsford on a Monday evening\n\nGoalball in Maldon on a Sunday\n")
    result = runner.invoke(main, ["ask", "--json", "--batch", str(batch)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(lines) == 3  # one a line of the file, the blank line too
    assert lines[0]["results"] and {"id", "name", "score", "why"} <= set(lines[0]["results"][0])
    assert "Monday" in lines[0]["results"][0]["why"]
    assert lines[1] == {"question": "", "answer": "Line 2 has no question.", "results": [], "relaxations": []}
    assert lines[2]["results"] == [] and lines[2]["answer"].startswith("Nothing suitable")
    assert lines[2]["question"] == "Goalball in Maldon on a Sunday"
    stats = json.loads(runner.invoke(main, ["kb", "stats", "--json"]).stdout)
    assert stats["activities"] >= 150 and stats["towns"]["Chelmsford"] > 0


def test_question_dataclass_lists_only_stated_constraints() -> None:
    q = Question(text="x", days=["MO"], free=True)
    assert q.constraints() == {"days": ["MO"], "free": True}


class CountingEmbedder:
    """The real MiniLM, counting the texts it is asked to embed."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name = inner.name
        self.texts = 0

    def embed(self, texts: Any) -> Any:
        self.texts += len(texts)
        return self.inner.embed(texts)


def test_when_a_feed_is_imported_again_then_only_changed_records_are_embedded(
    embedder: Any, tmp_path: Path
) -> None:
    counting = CountingEmbedder(embedder)
    small = ActivityIndex(tmp_path / "index", counting, towns=load_towns(TOWNS))
    activities = import_path(SAMPLE).activities[:12]
    small.upsert(activities)
    assert counting.texts == 12 and small.count() == 12
    renamed = activities[0].model_copy(update={"name": "Renamed Swim Session"})
    small.upsert([renamed, *activities[1:]])
    assert counting.texts == 13 and small.count() == 12
    assert any(a.name == "Renamed Swim Session" for a in small.activities())
    assert small.delete([activities[1].id, "no-such-id"]) == 1 and small.count() == 11
    # vectors from another embedding model are never reused
    counting.name = "another-model"
    small.upsert(activities[2:])
    assert counting.texts == 13 + 10 and small.count() == 11


@pytest.mark.parametrize(
    "question",
    [
        "Swimming with a hoist near Colchester on a Tuesday morning, where her carer can go in free.",
        "Free walking football near Basildon on a weekday evening for a 62-year-old man.",
        "Aquafit near Chelmsford on a weekday at a pool with either a hoist or a Pool Pod.",
        "Women-only yoga in Colchester in the evening, for a beginner.",
        "Walking netball in Harlow at intermediate level",
    ],
)
def test_when_the_memory_filter_runs_then_it_admits_exactly_what_chroma_admits(
    index: ActivityIndex, question: str
) -> None:
    from assistant.signposting import where_clause

    q = parse_question(question, index.towns)
    where = where_clause(q, index.towns)
    assert where is not None
    mirror = index.mirror()
    assert mirror is not None
    in_memory = {mirror.ids[r] for r in mirror.mask(where).nonzero()[0]}
    in_chroma = set(index._collection.get(where=where, include=[])["ids"])
    assert in_memory == in_chroma and in_chroma
