"""`reconnect eval run`: suites as data, versions side by side, thresholds that fail, dispatch by kind.

The drafting runs use the real offline drafter with MiniLM on two golden cases (ot01, ot12), and
the scripted run replays recorded replies through the real redactor and model drafter.
"""

from __future__ import annotations

import json
import sys
import types
from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from assistant.drafting import verify_evidence
from assistant.errors import BadInput
from assistant.evaluation.drafting import aggregate, score_draft
from assistant.evaluation.golden import GoldenCase, load_cases
from assistant.evaluation.runner import SuiteRun, resolve_version, run_suite
from assistant.records import Draft, Evidence, Goal, Section, Statement
from assistant.templates import load_template

ROOT = Path(__file__).resolve().parents[1]
EVALS = ROOT / "evals"
REQUIRED = [section.id for section in load_template("ot_initial_assessment").sections]


def small_suite(folder: Path, **changes: Any) -> Path:
    """evals/golden.yaml cut down to two cases, written next to the test's files."""
    raw = yaml.safe_load((EVALS / "golden.yaml").read_text(encoding="utf-8"))
    raw["cases"] = str(EVALS / "data" / "ot")
    raw["only"] = ["ot01", "ot12"]
    raw["name"] = "golden-small"
    raw.update(changes)
    path = folder / "suite.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def compared(tmp_path_factory: pytest.TempPathFactory, isolated_home: Path, embedder: Any) -> tuple[SuiteRun, Path]:
    folder = tmp_path_factory.mktemp("suite")
    out = folder / "out"
    run = run_suite(small_suite(folder), compare=["v1", "broken"], out_dir=out)
    assert isinstance(run, SuiteRun)
    return run, out


# ── the comparison ──────────────────────────────────────────────────────────


def test_when_v1_and_broken_are_compared_then_v1_passes_and_broken_fails_naming_the_thresholds(
    compared: tuple[SuiteRun, Path],
) -> None:
    run, _ = compared
    v1, broken = run.versions
    assert (v1.name, broken.name) == ("v1", "broken")
    assert v1.passed and not broken.passed and not run.passed
    failed = {c.metric for c in broken.checks if not c.ok}
    assert failed == {"sections_present", "extra_sections"}
    summary = run.summary()
    assert "PASS v1" in summary
    assert "FAIL broken: sections_present" in summary and "missing: risk" in summary
    assert "not in the note: diagnosis" in summary
    for column in ("evidence found", "fact recall", "false facts", "unsupported", "goals→activity", "words", "seconds"):
        assert column in summary


def test_when_the_offline_drafter_is_scored_then_its_figures_follow_from_its_drafts(
    compared: tuple[SuiteRun, Path],
) -> None:
    run, _ = compared
    v1 = run.versions[0]
    assert v1.metrics["evidence_found"] == 1.0 and v1.metrics["unsupported_statements"] == 0
    assert v1.metrics["false_facts"] == 0 and v1.metrics["missing_sections"] == 0
    found = sum(f.found for s in v1.scores for f in s.facts)
    total = sum(len(s.facts) for s in v1.scores)
    assert total == 34 and v1.metrics["fact_recall"] == pytest.approx(found / total)
    assert 0 < found < total  # the offline drafter quotes, so it finds some facts and misses short answers
    assert all(s.seconds > 0 and s.words > 50 for s in v1.scores)
    broken = run.versions[1]
    assert all(s.missing_sections == ["risk"] and s.extra_sections == ["diagnosis"] for s in broken.scores)


def test_when_a_run_is_written_then_results_json_and_report_html_are_in_out_and_kept_for_trends(
    compared: tuple[SuiteRun, Path], isolated_home: Path
) -> None:
    _, out = compared
    data = json.loads((out / "results.json").read_text(encoding="utf-8"))
    assert data["kind"] == "drafting" and data["passed"] is False
    assert [v["name"] for v in data["versions"]] == ["v1", "broken"]
    assert {(r["case"], r["version"]) for r in data["per_case"]} == {
        (c, v) for c in ("ot01", "ot12") for v in ("v1", "broken")
    }
    missed = [f for r in data["per_case"] for f in r["facts"] if not f["found"]]
    assert missed and all(f["quote"] for f in missed)
    assert (out / "report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    kept = list((isolated_home / "eval-runs" / "golden-small").glob("*/results.json"))
    assert len(kept) == 1 and json.loads(kept[0].read_text())["started"] == data["started"]
    assert data["files"]["report"] == str(out / "report.html")


# ── scoring a hand-made draft ───────────────────────────────────────────────


@pytest.fixture(scope="module")
def ot12() -> GoldenCase:
    return next(c for c in load_cases(EVALS / "data" / "ot") if c.id == "ot12")


def test_when_a_draft_cites_invents_and_misattributes_then_each_is_counted(ot12: GoldenCase) -> None:
    transcript = ot12.to_transcript()
    fact = ot12.facts.key_issues[1]  # osteoarthritis, quoted from one turn
    turn = ot12.turn_of(fact.quote)
    wish = "I'd like to try aqua aerobics."
    draft = Draft(
        template="ot_initial_assessment",
        sections=[
            Section(
                id="history",
                title="History",
                text="",
                statements=[
                    Statement(text="Osteoarthritis of both hips.", evidence=[Evidence(segment=turn, quote=fact.quote)]),
                    Statement(
                        text="She has Parkinson's and takes co-careldopa.",
                        evidence=[Evidence(segment=turn, quote="I have Parkinson's")],
                    ),
                ],
            ),
            Section(id="diagnosis", title="Diagnosis", text="Working diagnosis"),
        ],
        goals=[
            Goal(
                text="To try aqua aerobics.",
                activity="Aqua aerobics",
                measure="[to agree]: how much",  # nothing in the wish says how often
                support="[to agree]: support needed",
                timeframe="[to agree]: by when",
                evidence=[Evidence(segment=ot12.turn_of(wish), quote=wish)],
            )
        ],
    )
    draft = verify_evidence(draft, transcript)
    score = score_draft(
        ot12,
        draft,
        version="hand",
        provider="test",
        required_sections=REQUIRED,
        seconds=0.1,
        payloads=["[0] OT: Hello Sandra Kemp, your number is 07700 900921"],
    )
    assert [f.fact for f in score.facts if f.found] == [fact.fact]
    assert score.facts[1].found_in == ["history"] and score.facts[1].in_section
    assert [u.text for u in score.unsupported] == ["She has Parkinson's and takes co-careldopa."]
    assert score.unsupported[0].reason == "cited quote not found in that segment"
    assert {f.fact for f in score.false_facts} == {
        "the client has Parkinson's disease",
        "the client takes co-careldopa",
    }
    assert "risk" in score.missing_sections and score.extra_sections == ["diagnosis"]
    assert score.goals[0].found and score.smart_complete == pytest.approx(0.25)  # its activity, none of the rest
    assert {"Sandra Kemp", "07700 900921"} <= set(score.pii_sent)
    metrics = aggregate([score])
    assert metrics["evidence_found"] == pytest.approx(2 / 3)
    assert metrics["false_facts"] == 2 and metrics["unsupported_statements"] == 1 and metrics["pii_sent"] >= 2


# ── the model path, scripted ────────────────────────────────────────────────


def test_when_scripted_replies_answer_a_diagnosis_prompt_then_false_facts_and_unsupported_fail_it(
    services: Any, tmp_path: Path
) -> None:
    run = run_suite(EVALS / "golden_scripted.yaml", compare=["v2", "broken"], out_dir=tmp_path / "out")
    assert isinstance(run, SuiteRun)
    v2, broken = run.versions
    assert v2.passed, v2.checks
    failed = {c.metric for c in broken.checks if not c.ok}
    assert {"false_facts", "unsupported_statements", "sections_present", "extra_sections"} <= failed
    hits = {f.fact for f in broken.scores[0].false_facts}
    assert "the client has Parkinson's disease" in hits
    assert v2.metrics["pii_sent"] == 0 and broken.metrics["pii_sent"] == 0
    html = (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    assert "Working diagnosis of early Parkinson" in html  # the unsupported/false statement is shown


def test_when_a_scripted_reply_does_not_fit_the_schema_then_the_case_fails_schema_valid(
    services: Any, tmp_path: Path
) -> None:
    (tmp_path / "replies" / "v2").mkdir(parents=True)
    (tmp_path / "replies" / "v2" / "ot12.json").write_text('{"note": "no sections here"}', encoding="utf-8")
    raw = yaml.safe_load((EVALS / "golden_scripted.yaml").read_text(encoding="utf-8"))
    raw.update(cases=str(EVALS / "data" / "ot"), replies=str(tmp_path / "replies"), compare=["v2"])
    suite = tmp_path / "scripted.yaml"
    suite.write_text(yaml.safe_dump(raw), encoding="utf-8")
    run = run_suite(suite)
    assert isinstance(run, SuiteRun) and not run.passed
    score = run.versions[0].scores[0]
    assert score.error and "schema" in score.error
    assert run.versions[0].metrics["schema_valid"] == 0 and run.versions[0].metrics["fact_recall"] == 0
    with pytest.raises(BadInput, match=r"no recorded reply for version 'broken'.*ot12"):
        run_suite(suite, compare=["broken"])


# ── versions, bad suites, dispatch ──────────────────────────────────────────


def test_when_versions_are_named_then_live_and_candidate_files_resolve_without_changing_the_live_default() -> None:
    from assistant.templates import load_template

    assert resolve_version("ot_initial_assessment", "v1").version == "1"
    assert resolve_version("ot_initial_assessment", "v2").version == "2"
    broken = resolve_version("ot_initial_assessment", "broken")
    assert "risk" not in {s.id for s in broken.sections} and "diagnosis" in {s.id for s in broken.sections}
    assert load_template("ot_initial_assessment").version == "1"
    with pytest.raises(BadInput, match=r"no version 'v9'.*versions there: 1, 2, broken"):
        resolve_version("ot_initial_assessment", "v9")


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("kind: banana\nname: x\n", "kind 'banana' is not a suite kind; use one of: drafting, pii, aci, retrieval"),
        ("name: x\n", "no kind: is not a suite kind"),
        ("kind: drafting\nname: [unclosed\n", "not valid YAML"),
        ("- just\n- a list\n", "must be a YAML mapping"),
        ("kind: drafting\nname: x\nthresholds: {fact_recal: 0.5}\n", "unknown threshold 'fact_recal'"),
        ("kind: drafting\nname: x\nprovider: gpt\n", "provider"),
        ("kind: drafting\nname: x\nsurprise: 1\n", "surprise"),
    ],
)
def test_when_a_suite_is_malformed_then_the_error_is_one_clear_line(tmp_path: Path, body: str, message: str) -> None:
    path = tmp_path / "suite.yaml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(BadInput) as caught:
        run_suite(path)
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_when_the_suite_file_is_missing_then_it_says_so(tmp_path: Path) -> None:
    with pytest.raises(BadInput, match="not found"):
        run_suite(tmp_path / "nope.yaml")


def test_when_the_kind_is_retrieval_then_that_module_runs_and_its_verdict_is_kept(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Path] = []

    class Report:
        def __init__(self, passed: bool) -> None:
            self.passed = passed
            self.checks = {"hit@5 >= 0.95": passed}

        def model_dump(self, mode: str = "python") -> dict[str, Any]:
            return {"checks": self.checks, "hit_at_k": 0.9}

    module = types.ModuleType("assistant.evaluation.retrieval")
    module.run = lambda path, limit=None: calls.append(path) or Report(passed=False)  # type: ignore[attr-defined]
    module.render = lambda report: f"hit@5 {report.model_dump()['hit_at_k']}"  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "assistant.evaluation.retrieval", module)
    suite = tmp_path / "signposting.yaml"
    suite.write_text("kind: retrieval\nname: signposting\n", encoding="utf-8")
    report = run_suite(suite, out_dir=tmp_path / "out")
    assert calls == [suite] and report.passed is False
    assert "hit@5 0.9" in report.summary() and "FAIL" in report.summary()
    data = json.loads((tmp_path / "out" / "results.json").read_text(encoding="utf-8"))
    assert data["kind"] == "retrieval" and data["passed"] is False and data["hit_at_k"] == 0.9
    assert "FAILED" in (tmp_path / "out" / "report.html").read_text(encoding="utf-8")
    with pytest.raises(BadInput, match="applies to drafting suites"):
        run_suite(suite, compare=["v1", "v2"])
    blocked = tmp_path / "a-file"
    blocked.write_text("not a folder", encoding="utf-8")
    with pytest.raises(BadInput, match="cannot write results"):
        run_suite(suite, out_dir=blocked)


# ── the command ─────────────────────────────────────────────────────────────


def test_when_the_cli_compares_then_exit_code_follows_the_thresholds(embedder: Any, tmp_path: Path) -> None:
    from assistant.cli import main

    suite = small_suite(tmp_path, only=["ot12"])
    runner = CliRunner()
    failing = runner.invoke(main, ["eval", "run", str(suite), "--compare", "v1,broken", "--json"])
    assert failing.exit_code == 1, failing.output
    data = json.loads(failing.stdout)
    assert data["passed"] is False and [v["passed"] for v in data["versions"]] == [True, False]
    passing = runner.invoke(main, ["eval", "run", str(suite), "--compare", "v1", "--out", str(tmp_path / "out")])
    assert passing.exit_code == 0, passing.output
    assert "PASS v1" in passing.stdout and (tmp_path / "out" / "report.html").exists()
    bad = runner.invoke(main, ["eval", "run", str(suite), "--compare", "v1,v7"])
    assert bad.exit_code == 1 and bad.stderr.count("\n") == 1 and "no version 'v7'" in bad.stderr


def test_when_the_provider_is_configured_then_a_real_client_gets_redacted_prompts_of_each_version(
    services: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tests.fake_openai import FakeOpenAI

    answer = yaml.safe_load((EVALS / "data" / "scripted" / "v1" / "ot12.yaml").read_text(encoding="utf-8"))
    raw = yaml.safe_load((EVALS / "golden_scripted.yaml").read_text(encoding="utf-8"))
    raw.update(cases=str(EVALS / "data" / "ot"), provider="configured", replies=None, compare=["v2", "broken"])
    suite = tmp_path / "configured.yaml"
    suite.write_text(yaml.safe_dump(raw), encoding="utf-8")
    with FakeOpenAI(answer=answer) as server:
        configured = services.settings.model_copy(
            update={"provider": "openai-compatible", "base_url": server.base_url, "max_retries": 0}
        )
        monkeypatch.setattr(services, "settings", configured)
        run = run_suite(suite, out_dir=tmp_path / "out")
    assert isinstance(run, SuiteRun)
    assert len(server.requests) == 2
    sent = [json.dumps(body) for body in server.requests]
    assert "Give your working diagnosis" in sent[1] and "Give your working diagnosis" not in sent[0]
    assert not any(name in body for body in sent for name in ("Sandra", "Kemp", "07700 900921"))
    v2, broken = run.versions
    assert v2.metrics["pii_sent"] == 0 and v2.metrics["tokens"] == 200  # the server's usage, counted per case
    assert v2.passed, v2.checks
    # The same answer to the broken prompt: its template still has no risk section and a diagnosis one.
    assert {c.metric for c in broken.checks if not c.ok} == {"sections_present", "extra_sections"}
    assert "the model returned no 'diagnosis' section" in broken.scores[0].warnings
