"""The sample activity directory (knowledge/) and the signposting questions over it (evals/data/signposting/)."""

from __future__ import annotations

import copy
import importlib.util
import json
import re
import sys
from collections import Counter
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
DIRECTORY = ROOT / "knowledge" / "sample-directory.json"
TOWNS = ROOT / "knowledge" / "towns.yaml"
ACTIVITY_LIST = ROOT / "knowledge" / "vocab" / "activity-list.jsonld"
QUESTIONS = ROOT / "evals" / "data" / "signposting" / "questions.yaml"
CANONICAL_ACCESS = ("Pool hoist", "Pool Pod", "Changing Places toilet", "Hearing loop", "Step-free access",
                    "Accessible parking", "Wheelchair accessible", "Accessible changing rooms")
# Words that would make a text-matching importer see one accessibility feature in another's details.
ACCESS_WORDS = ("hoist", "pod", "changing places", "loop", "step", "ramp", "parking", "wheelchair", "changing room")


def load_module(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the file runs
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def gold_checker() -> ModuleType:
    return load_module("derive_gold", ROOT / "evals" / "data" / "signposting" / "derive_gold.py")


@pytest.fixture(scope="module")
def directory() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DIRECTORY.read_text(encoding="utf-8"))
    return data


@pytest.fixture(scope="module")
def services(directory: dict[str, Any]) -> list[dict[str, Any]]:
    contents: list[dict[str, Any]] = directory["contents"]
    return contents


@pytest.fixture(scope="module")
def towns() -> dict[str, dict[str, Any]]:
    data: dict[str, dict[str, Any]] = yaml.safe_load(TOWNS.read_text(encoding="utf-8"))["towns"]
    return data


@pytest.fixture(scope="module")
def questions() -> list[dict[str, Any]]:
    data: list[dict[str, Any]] = yaml.safe_load(QUESTIONS.read_text(encoding="utf-8"))["questions"]
    return data


def city(service: dict[str, Any]) -> str:
    value: str = service["service_at_locations"][0]["location"]["addresses"][0]["city"]
    return value


# ── the directory ───────────────────────────────────────────────────────────


def test_when_the_directory_is_read_then_it_is_a_labelled_oruk_page_of_at_least_150_services(
    directory: dict[str, Any], services: list[dict[str, Any]]
) -> None:
    assert "SAMPLE DATA" in directory["note"]
    assert len(services) >= 150
    assert directory["total_items"] == directory["size"] == len(services)
    assert (directory["page_number"], directory["total_pages"], directory["first_page"], directory["last_page"]) == (
        1, 1, True, True)
    assert directory["empty"] is False


def test_when_the_generator_runs_then_it_writes_the_committed_file_byte_for_byte() -> None:
    generator = load_module("make_sample", ROOT / "knowledge" / "make_sample.py")
    assert generator.render(generator.build()) == DIRECTORY.read_text(encoding="utf-8")


def test_when_services_are_listed_then_every_id_is_unique(services: list[dict[str, Any]]) -> None:
    ids = [s["id"] for s in services]
    assert len(set(ids)) == len(ids)
    names = Counter(s["name"] for s in services)
    assert [n for n, k in names.items() if k > 1] == []


def test_when_an_activity_is_tagged_then_its_term_is_a_real_openactive_concept(services: list[dict[str, Any]]) -> None:
    concepts = {c["id"]: c["prefLabel"] for c in json.loads(ACTIVITY_LIST.read_text(encoding="utf-8"))["concept"]}
    terms = [a["taxonomy_term"] for s in services for a in s["attributes"]]
    assert len(terms) >= len(services) - 10  # only the distractor cafés carry no activity
    for term in terms:
        assert term["taxonomy"] == "OpenActive Activity List"
        assert term["term_uri"] in concepts, term
        assert concepts[term["term_uri"]] == term["name"], term


def test_when_a_service_is_read_then_it_says_it_is_fictional_and_uses_only_safe_contacts(
    services: list[dict[str, Any]],
) -> None:
    for service in services:
        assert service["description"].startswith("Sample data: fictional activity."), service["name"]
        assert service["email"].endswith("@example.org")
        assert service["url"].startswith("https://example.org/")
        for contact in service["contacts"]:
            for phone in contact["phones"]:
                assert re.fullmatch(r"01632 960\d{3}|07700 900\d{3}", phone["number"]), phone


def test_when_a_venue_is_read_then_it_is_in_a_known_essex_town_near_that_town(
    services: list[dict[str, Any]], towns: dict[str, dict[str, Any]]
) -> None:
    for service in services:
        location = service["service_at_locations"][0]["location"]
        address = location["addresses"][0]
        town = towns[address["city"]]
        assert (address["state_province"], address["country"]) == ("Essex", "GB")
        assert address["postal_code"].split()[0] in town["postcode_districts"], address
        assert abs(location["latitude"] - town["latitude"]) < 0.05
        assert abs(location["longitude"] - town["longitude"]) < 0.05


def test_when_accessibility_is_listed_then_it_uses_the_canonical_phrases_only(services: list[dict[str, Any]]) -> None:
    seen: Counter[str] = Counter()
    for service in services:
        entries = service["service_at_locations"][0]["location"]["accessibility"]
        descriptions = [e["description"] for e in entries]
        assert len(set(descriptions)) == len(descriptions)
        for entry in entries:
            assert entry["description"] in CANONICAL_ACCESS
            assert not [w for w in ACCESS_WORDS if w in entry["details"].lower()], entry
        seen.update(descriptions)
    assert set(seen) == set(CANONICAL_ACCESS)


def test_when_constraints_vary_then_the_directory_holds_both_sides_of_each(
    services: list[dict[str, Any]], gold_checker: ModuleType
) -> None:
    assert {gold_checker.is_free(s) for s in services} == {True, False}
    assert {gold_checker.gender_of(s) for s in services} == {"any", "female", "male"}
    assert {gold_checker.level_of(s) for s in services} == {"all", "beginner", "intermediate"}
    assert {gold_checker.period_of(s["schedules"][0]["opens_at"]) for s in services} == {
        "morning", "afternoon", "evening"}
    assert {d for s in services for d in s["schedules"][0]["byday"].split(",")} == set(gold_checker.DAY_CODES)
    assert any(s.get("maximum_age") is not None for s in services)
    assert any(c["option"] == "Carer" and c["amount"] == 0 for s in services for c in s["cost_options"])


# ── towns ───────────────────────────────────────────────────────────────────


def test_when_towns_list_their_neighbours_then_the_relation_is_symmetric(towns: dict[str, dict[str, Any]]) -> None:
    for name, town in towns.items():
        assert name not in town["nearby"]
        for other in town["nearby"]:
            assert name in towns[other]["nearby"], (name, other)


# ── the question set ────────────────────────────────────────────────────────


def test_when_gold_is_derived_again_then_it_matches_the_stored_gold(
    questions: list[dict[str, Any]], services: list[dict[str, Any]], towns: dict[str, dict[str, Any]],
    gold_checker: ModuleType,
) -> None:
    ids = {s["id"] for s in services}
    derived = gold_checker.derive(questions, services, towns, gold_checker.load_labels())
    for question, gold in zip(questions, derived, strict=True):
        assert set(question["gold"]) <= ids, question["id"]
        assert question["gold"] == gold, question["id"]


def test_when_the_question_set_is_counted_then_every_kind_is_well_represented(
    questions: list[dict[str, Any]],
) -> None:
    kinds = Counter(q["kind"] for q in questions)
    assert len(questions) >= 45
    assert kinds["unanswerable"] >= 8 and kinds["semantic"] >= 8 and kinds["constrained"] >= 10
    assert kinds["near_duplicate"] >= 16
    assert sum(1 for q in questions if q["kind"] == "unanswerable" and q["gold"] == []) >= 8
    assert all(q["gold"] for q in questions if q["kind"] != "unanswerable")


def test_when_near_duplicates_are_paired_then_each_pair_has_different_answers(questions: list[dict[str, Any]]) -> None:
    pairs: dict[str, list[dict[str, Any]]] = {}
    for question in questions:
        if question["kind"] == "near_duplicate":
            pairs.setdefault(question["pair"], []).append(question)
    assert len(pairs) >= 8
    for name, (first, second) in pairs.items():
        a, b = first["constraints"], second["constraints"]
        changed = {k for k in set(a) | set(b) if a.get(k) != b.get(k)}
        assert len(changed) == 1, (name, changed)
        assert set(first["gold"]) != set(second["gold"]), name


SERVICE: dict[str, Any] = {
    "minimum_age": 18,
    "eligibility_description": "Women only. Adults aged 18 and over. Beginners welcome.",
    "attributes": [{"taxonomy_term": {"name": "Swimming"}}],
    "service_at_locations": [{"location": {"addresses": [{"city": "Colchester"}],
                                           "accessibility": [{"description": "Pool hoist"}]}}],
    "schedules": [{"byday": "TU,TH", "opens_at": "10:00:00"}],
    "cost_options": [{"option": "Standard", "amount": 3.5}, {"option": "Carer", "amount": 0}],
}


@pytest.mark.parametrize(
    ("constraints", "expected"),
    [
        ({"activities": ["Swimming"], "towns": ["Colchester"], "days": ["TH"], "time_of_day": "morning"}, True),
        ({"activities": ["Aqua Fit"]}, False),
        ({"towns": ["Witham"]}, False),
        ({"days": ["WE"]}, False),
        ({"time_of_day": "evening"}, False),
        ({"accessibility": ["Pool hoist"], "carer_free": True}, True),
        ({"accessibility": ["Pool hoist", "Pool Pod"]}, False),
        ({"accessibility_any": ["Pool hoist", "Pool Pod"]}, True),
        ({"free": True}, False),
        ({"age": 17}, False),
        ({"age": 90}, True),
        ({"gender": "female"}, True),
        ({"person_gender": "male"}, False),
        ({"level": "beginner"}, True),
        ({"level": "intermediate"}, False),
    ],
)
def test_when_a_service_is_checked_then_each_constraint_is_honoured(
    constraints: dict[str, Any], expected: bool, gold_checker: ModuleType
) -> None:
    assert gold_checker.meets(copy.deepcopy(SERVICE), constraints) is expected
