"""Eval gates that must not pass by accident: the drafting eval re-checks evidence itself, the PII and
retrieval suites refuse thresholds they do not know and fail when nothing was checked."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from assistant.errors import BadInput
from assistant.evaluation import pii, retrieval
from assistant.evaluation.drafting import score_draft
from assistant.evaluation.golden import GoldenCase, load_cases
from assistant.records import Draft, Evidence, Goal, Section, Statement
from assistant.templates import load_template

EVALS = Path(__file__).resolve().parents[1] / "evals"
REQUIRED = [section.id for section in load_template("ot_initial_assessment").sections]


@pytest.fixture(scope="module")
def ot12() -> GoldenCase:
    return next(c for c in load_cases(EVALS / "data" / "ot") if c.id == "ot12")


# ── 5. the drafting eval does not take the drafter's word for its evidence ─────────────────────


def test_when_a_draft_marks_invented_quotes_verified_then_the_eval_finds_them_missing(ot12: GoldenCase) -> None:
    fact = ot12.facts.key_issues[1]
    turn = ot12.turn_of(fact.quote)
    draft = Draft(
        template="ot_initial_assessment",
        sections=[
            Section(
                id="history",
                title="History",
                text="",
                statements=[
                    Statement(  # words nobody said, claimed verified
                        text="Takes donepezil.",
                        evidence=[Evidence(segment=turn, quote="I take donepezil every morning", verified=True)],
                    ),
                    Statement(  # a quote that says nothing, claimed verified
                        text="Has vascular dementia.", evidence=[Evidence(segment=turn, quote="I", verified=True)]
                    ),
                    Statement(  # a real quote, claimed unverified: the eval checks it and finds it
                        text=fact.fact, evidence=[Evidence(segment=turn, quote=fact.quote, verified=False)]
                    ),
                ],
            )
        ],
        goals=[
            Goal(
                text="Swim weekly.",
                activity="Swimming",
                measure="weekly",
                support="[to agree]",
                timeframe="[to agree]",
                evidence=[Evidence(segment=turn, quote="I swim every week", verified=True)],
            )
        ],
    )
    score = score_draft(ot12, draft, version="hand", provider="test", required_sections=REQUIRED, seconds=0.0)
    assert (score.evidence_verified, score.evidence_quotes) == (1, 4)
    assert score.metrics()["evidence_found"] == pytest.approx(0.25)
    assert sorted(u.text for u in score.unsupported) == ["Has vascular dementia.", "Swim weekly.", "Takes donepezil."]
    assert [f.fact for f in score.facts if f.found] == [fact.fact]


def test_when_the_drafter_flags_a_found_quote_then_the_eval_counts_the_statement_unsupported(
    ot12: GoldenCase,
) -> None:
    first_ot = next(i for i, t in enumerate(ot12.transcript) if t.speaker == "OT")
    quote = ot12.transcript[first_ot].text
    draft = Draft(
        template="ot_initial_assessment",
        sections=[
            Section(
                id="risk",
                title="Risk",
                text="",
                statements=[
                    Statement(
                        text="Two falls this year.",
                        evidence=[Evidence(segment=first_ot, quote=quote)],
                        flagged="only the OT's question supports this statement: check what the person said",
                    )
                ],
            )
        ],
    )
    score = score_draft(ot12, draft, version="hand", provider="test", required_sections=REQUIRED, seconds=0.0)
    assert score.evidence_verified == 1
    assert [u.reason for u in score.unsupported] == [
        "flagged by the drafter: only the OT's question supports this statement: check what the person said"
    ]


# ── 6. PII and retrieval suites: no silent typos, no pass without checks ───────────────────────


def _pii_suite(folder: Path, thresholds: dict[str, float], name: str = "ot-transcripts") -> Path:
    path = folder / "pii.yaml"
    dataset = {"name": name, "path": str(EVALS / "data" / "pii" / "uk_ot_transcripts.yaml"), "format": "transcripts"}
    path.write_text(yaml.safe_dump({"kind": "pii", "datasets": [dataset], "thresholds": thresholds}), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("thresholds", "message"),
    [
        ({"uk_direct_recal": 0.97}, "unknown threshold(s) uk_direct_recal"),
        ({"uk_direct_recall": 1.01}, "uk_direct_recall is 1.01: it must be between 0.0 and 1.0"),
        ({"synth_recall_gain": 5.0}, "synth_recall_gain is 5.0"),
        ({}, "no thresholds"),
    ],
)
def test_when_a_pii_suite_has_a_bad_threshold_then_it_is_a_clear_error(
    tmp_path: Path, thresholds: dict[str, float], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    path = _pii_suite(tmp_path, thresholds)
    with pytest.raises(BadInput) as raised:
        pii.load_suite(path)
    assert message in str(raised.value)
    assert pii.main([str(path)]) == 2
    assert message in capsys.readouterr().err


def _ours(direct_recall: float, non_personal: float = 0.0) -> pii.SystemScore:
    return pii.SystemScore(
        system="ours+known",
        precision=1.0,
        recall=1.0,
        f2=1.0,
        non_personal_redacted=non_personal,
        entities=[],
        direct_recall=direct_recall,
    )


def test_when_no_threshold_was_checked_then_the_pii_report_fails() -> None:
    assert pii.PiiReport(datasets=[], checks={}).passed is False


def test_when_a_transcripts_dataset_is_not_named_uk_then_its_direct_recall_is_still_checked() -> None:
    report = pii.DatasetReport(dataset="ot-transcripts", samples=2, format="transcripts", systems=[_ours(0.9)])
    checks = pii._checks([report], {"uk_direct_recall": 0.97, "uk_non_personal_redacted_max": 0.03})
    assert checks == {
        "ot-transcripts: direct recall >= 0.97": False,
        "ot-transcripts: non-personal redacted <= 0.03": True,
    }


def test_when_a_threshold_applies_to_no_dataset_then_it_is_a_failed_check() -> None:
    report = pii.DatasetReport(dataset="ot-transcripts", samples=2, format="transcripts", systems=[_ours(1.0)])
    checks = pii._checks([report], {"uk_direct_recall": 0.97, "synth_recall_gain": 0.2})
    assert checks["ot-transcripts: direct recall >= 0.97"] is True
    failed = [name for name, ok in checks.items() if not ok]
    assert len(failed) == 1 and failed[0].startswith("synth_recall_gain: applies to no dataset")


def _retrieval_suite(folder: Path, **changes: object) -> Path:
    raw = yaml.safe_load((EVALS / "signposting.yaml").read_text(encoding="utf-8"))
    raw["questions"] = str(EVALS / raw["questions"])
    raw["gold_rules"] = str(EVALS / raw["gold_rules"])
    raw.update(changes)
    path = folder / "signposting.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"targets": {"hit_at_5": 0.99}}, "unknown target(s) hit_at_5"),
        ({"targets": {"violations_top3": 0.0}}, "unknown target(s) violations_top3"),
        ({"targets": {"hit_at_k": 1.5}}, "target hit_at_k is 1.5"),
        ({"target": {"hit_at_k": 0.99}}, "unknown key(s) target"),
    ],
)
def test_when_a_retrieval_suite_misspells_a_target_then_it_is_a_clear_error(
    tmp_path: Path, changes: dict[str, object], message: str
) -> None:
    with pytest.raises(BadInput) as raised:
        retrieval.run(_retrieval_suite(tmp_path, **changes))
    assert message in str(raised.value)


def test_when_retrieval_targets_are_given_then_they_override_the_defaults(tmp_path: Path) -> None:
    suite = yaml.safe_load(_retrieval_suite(tmp_path, targets={"hit_at_k": 0.5}).read_text(encoding="utf-8"))
    targets = retrieval._targets(tmp_path / "signposting.yaml", suite)
    assert targets == {"hit_at_k": 0.5, "violations_top3_max": 0.05, "unanswerable_empty": 0.90}
