"""The golden set of OT assessment conversations loads, validates and rejects broken data."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from assistant.evaluation.golden import (
    GoldenCase,
    GoldenCaseError,
    load_case,
    load_cases,
    make_nhs_number,
    nhs_number_valid,
)

FOLDER = Path(__file__).resolve().parents[1] / "evals" / "data" / "ot"


@pytest.fixture(scope="module")
def cases() -> list[GoldenCase]:
    return load_cases(FOLDER)


def test_when_the_golden_set_loads_then_it_has_at_least_twelve_sound_cases(cases: list[GoldenCase]) -> None:
    assert len(cases) >= 12
    assert len({case.id for case in cases}) == len(cases)
    assert all(case.problems() == [] for case in cases)


def test_when_cases_are_read_then_each_is_a_realistic_length_with_carers_and_traps_present(
    cases: list[GoldenCase],
) -> None:
    for case in cases:
        assert 40 <= len(case.transcript) <= 120, (case.id, len(case.transcript))
        assert {"OT", "Client"} <= {turn.speaker for turn in case.transcript}, case.id
        age = (date(2026, 11, 1) - case.case_details.birth_date).days // 365
        assert 19 <= age <= 88, (case.id, age)
    assert sum(any(t.speaker == "Carer" for t in case.transcript) for case in cases) >= 3
    assert sum(case.adversarial is not None for case in cases) >= 2


def test_when_identifiers_are_listed_then_each_case_speaks_some_of_them(cases: list[GoldenCase]) -> None:
    for case in cases:
        identifiers = case.known_identifiers()
        assert case.case_details.name in identifiers and case.case_details.nhs_number in identifiers
        spoken = " ".join(turn.text for turn in case.transcript)
        assert any(value in spoken for value in identifiers if len(value) > 3), case.id


def test_when_a_case_becomes_a_transcript_then_turns_map_to_segments_in_order(cases: list[GoldenCase]) -> None:
    case = next(c for c in cases if any(t.speaker == "Carer" for t in c.transcript))
    transcript = case.to_transcript()
    assert [s.id for s in transcript.segments] == list(range(len(case.transcript)))
    expected = {"OT": "OT", "Client": "client", "Carer": "other"}
    assert [s.speaker for s in transcript.segments] == [expected[t.speaker] for t in case.transcript]
    assert not any(s.speaker_inferred for s in transcript.segments)
    starts = [s.start for s in transcript.segments]
    assert starts == sorted(starts) and all(s.end > s.start for s in transcript.segments)
    fact = case.facts.key_issues[0]
    assert fact.quote in transcript.segments[case.turn_of(fact.quote)].text


def test_when_a_goal_is_listed_then_its_words_come_from_the_client(cases: list[GoldenCase]) -> None:
    for case in cases:
        client_text = [t.text for t in case.transcript if t.speaker == "Client"]
        for goal in case.facts.goals:
            assert any(goal.says in text for text in client_text), (case.id, goal.says)


def test_when_must_not_patterns_run_then_the_reference_note_is_clean_but_a_planted_claim_is_caught(
    cases: list[GoldenCase],
) -> None:
    for case in cases:
        for item in case.facts.must_not:
            assert item.found_in(case.reference_note) == [], (case.id, item.fact)
    stroke = next(case for case in cases if case.id == "ot01")
    wheelchair = next(item for item in stroke.facts.must_not if "wheelchair" in item.fact)
    assert wheelchair.found_in("Outdoors he uses a wheelchair pushed by his wife.")
    assert wheelchair.found_in("Outdoors he uses a stick.") == []


@pytest.mark.parametrize(
    ("number", "valid"),
    [("943 476 5919", True), ("9434765919", True), ("943 476 5910", False), ("943 476 591", False)],
)
def test_when_an_nhs_number_is_checked_then_modulus_11_decides(number: str, valid: bool) -> None:
    assert nhs_number_valid(number) is valid


def test_when_an_nhs_number_is_made_then_it_validates() -> None:
    made = make_nhs_number("999123457")
    assert nhs_number_valid(made) and made.startswith("999 123 457")
    with pytest.raises(ValueError, match="nine digits"):
        make_nhs_number("12345")
    with pytest.raises(ValueError, match="no valid check digit"):
        make_nhs_number("999123456")


def _broken_copy(tmp_path: Path, change: str) -> Path:
    raw = yaml.safe_load(sorted(FOLDER.glob("*.yaml"))[0].read_text(encoding="utf-8"))
    if change == "quote":
        raw["facts"]["key_issues"][0]["quote"] = "she walks with a frame and lives on her own"
    elif change == "nhs":
        raw["case_details"]["nhs_number"] = "999 000 0001"
    elif change == "extra":
        raw["diagnosis"] = "invented"
    path = tmp_path / "broken.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def test_when_a_quote_is_not_in_the_transcript_then_loading_fails_naming_it(tmp_path: Path) -> None:
    path = _broken_copy(tmp_path, "quote")
    with pytest.raises(GoldenCaseError, match=r"key_issues\[0\]\.quote .*not verbatim") as caught:
        load_case(path)
    assert str(path) in str(caught.value)
    with pytest.raises(GoldenCaseError, match="not verbatim"):
        load_cases(tmp_path)


@pytest.mark.parametrize(("change", "message"), [("nhs", "modulus-11"), ("extra", "diagnosis")])
def test_when_case_data_is_malformed_then_loading_fails_with_the_fix(tmp_path: Path, change: str, message: str) -> None:
    with pytest.raises(GoldenCaseError, match=message):
        load_case(_broken_copy(tmp_path, change))


def test_when_two_cases_share_an_id_then_loading_the_folder_fails(tmp_path: Path) -> None:
    source = sorted(FOLDER.glob("*.yaml"))[0].read_text(encoding="utf-8")
    (tmp_path / "a.yaml").write_text(source, encoding="utf-8")
    (tmp_path / "b.yaml").write_text(source, encoding="utf-8")
    with pytest.raises(GoldenCaseError, match="already used"):
        load_cases(tmp_path)


def test_when_the_folder_is_empty_then_loading_says_where_it_looked(tmp_path: Path) -> None:
    with pytest.raises(GoldenCaseError, match="no golden cases"):
        load_cases(tmp_path)
