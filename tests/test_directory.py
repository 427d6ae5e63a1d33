"""Importers: ORUK 3.0 JSON and CSV, OpenActive RPDE, plain CSV; real examples and malformed feeds."""

from __future__ import annotations

import copy
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from assistant.directory import gender_of, import_path, level_of
from assistant.errors import FeedError

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "knowledge" / "sample-directory.json"
COUNSELLING = "ac148810-d857-441c-9679-408f346de14b"
# The shared examples' sessions ran in 2005 (ORUK) and 2018 (OpenActive): mapped as of a day before them.
THEN = date(2005, 1, 1)


# ── the shared examples import without rejects ──────────────────────────────


@pytest.mark.parametrize(
    ("relative", "fmt", "activities", "skipped"),
    [
        ("oruk/service_full.json", "oruk", 1, 0),
        ("oruk/service_list.json", "oruk", 1, 0),
        ("oruk/organization_full.json", "oruk", 1, 0),
        ("oruk/service_at_location_full.json", "oruk", 1, 0),
        ("oruk/service_at_location_list.json", "oruk", 1, 0),
        ("oruk/taxonomy.json", "oruk", 0, 1),
        ("oruk/taxonomy_term_list.json", "oruk", 0, 1),
        ("oruk/csv", "oruk-csv", 1, 0),
        ("oruk/csv/services.csv", "oruk-csv", 1, 0),
        ("openactive/sessionseries_example_1.json", "openactive", 1, 0),
        ("openactive/sessionseries-split_example_1.json", "openactive", 1, 0),
        ("openactive/scheduledsession_example_1.json", "openactive", 1, 0),
        ("openactive/place_example_1.json", "openactive", 0, 1),
    ],
)
def test_when_a_shared_example_is_imported_then_nothing_is_rejected(
    shared_data: Path, relative: str, fmt: str, activities: int, skipped: int
) -> None:
    result = import_path(shared_data / relative, today=THEN)
    assert result.rejected == []
    assert result.format == fmt
    assert len(result.activities) == activities
    assert len(result.skipped) == skipped


def test_when_the_oruk_service_is_read_then_every_part_is_mapped(shared_data: Path) -> None:
    (a,) = import_path(shared_data / "oruk" / "service_full.json", today=THEN).activities
    assert (a.id, a.source_id, a.name) == (COUNSELLING, COUNSELLING, "Community Counselling")
    assert a.organisation == "Example Organization Inc."
    assert (a.location.name, a.location.town, a.location.postcode) == ("MyCity Civic Center", "MyCity", "ABC 1234")
    assert (a.location.latitude, a.location.longitude) == (None, None)  # 100, 101 is not a place on Earth
    assert a.schedules[0].days == ["TH", "FR"] and a.schedules[0].start_time == "10:00"
    assert a.costs[0].amount == 35 and a.free is False
    assert (a.min_age, a.max_age) == (12, 100)
    assert set(a.accessibility) == {"hearing_loop", "wheelchair"}
    assert a.last_modified == "2023-03-15T10:30:45.123Z"


def test_when_the_oruk_csv_tables_are_joined_then_they_match_the_json_form(shared_data: Path) -> None:
    (from_csv,) = import_path(shared_data / "oruk" / "csv", today=THEN).activities
    (from_json,) = import_path(shared_data / "oruk" / "service_full.json", today=THEN).activities
    for attribute in ("id", "name", "organisation", "schedules", "costs", "free", "min_age", "max_age"):
        assert getattr(from_csv, attribute) == getattr(from_json, attribute), attribute
    assert from_csv.location.town == from_json.location.town
    assert from_csv.accessibility == from_json.accessibility


def test_when_an_openactive_session_series_is_read_then_opportunity_fields_are_mapped(shared_data: Path) -> None:
    (a,) = import_path(shared_data / "openactive" / "sessionseries_example_1.json", today=THEN).activities
    assert a.source_id == "1402CBP20150217"
    assert a.id == "openactive:www.example.com/api/rpde/sessions:1402CBP20150217"  # the feed is part of the id
    assert a.name == "Virtual BODYPUMP" and "Bodypump™" in a.activity_types
    assert a.organisation == "Everyone Active"
    assert a.schedules[0].days == ["TU"] and a.schedules[0].start_time == "20:15"
    assert (a.level, a.min_age, a.gender) == ("beginner", 16, "any")
    assert a.location.postcode == "TS4 3AE" and a.location.latitude == pytest.approx(54.543964)
    assert [c.amount for c in a.costs] == [3.3, 3.3] and a.free is False
    assert "Visual impairment" in a.accessibility_notes


def test_when_a_scheduled_session_is_read_then_it_takes_its_super_event(shared_data: Path) -> None:
    (a,) = import_path(shared_data / "openactive" / "scheduledsession_example_1.json", today=THEN).activities
    assert a.name == "Hot Yoga"
    assert a.schedules[0].days == ["WE"] and a.schedules[0].start_time == "20:15"  # 2018-10-03 was a Wednesday
    assert a.location.name and a.organisation  # from the superEvent


# ── malformed input: reasons, never crashes ─────────────────────────────────


def _rpde(items: list[Any]) -> dict[str, Any]:
    return {"next": "https://example.org/next", "items": items}


def test_when_rpde_items_are_malformed_or_deleted_then_each_gets_a_reason(tmp_path: Path, shared_data: Path) -> None:
    good = json.loads((shared_data / "openactive" / "sessionseries_example_1.json").read_text())["items"][0]
    negative = copy.deepcopy(good)
    negative["id"] = "neg"
    negative["data"]["offers"][0]["price"] = -3
    linked = copy.deepcopy(good)
    linked["id"] = "linked"
    linked["data"] = {"@type": "ScheduledSession", "superEvent": "https://example.org/series/1",
                      "startDate": "2026-01-06T10:00:00Z"}
    bad_date = copy.deepcopy(good)
    bad_date["id"] = "bad-date"
    bad_date["data"] = {"@type": "ScheduledSession", "name": "x", "startDate": "next Tuesday"}
    feed = tmp_path / "feed.json"
    feed.write_text(json.dumps(_rpde([
        good,
        {"state": "deleted", "kind": "SessionSeries", "id": "gone", "modified": 2},
        {"state": "updated", "kind": "SessionSeries", "id": "no-data"},
        {"state": "weird", "id": "odd"},
        "not an object",
        negative,
        linked,
        bad_date,
    ])))
    result = import_path(feed, today=THEN)
    assert [a.source_id for a in result.activities] == ["1402CBP20150217"]
    assert result.deleted == ["openactive:example.org/next:gone", "openactive:gone"]  # and its pre-feed id
    reasons = {r["id"]: r["reason"] for r in result.rejected}
    assert reasons["no-data"] == "no data object"
    assert "state is weird" in reasons["odd"]
    assert reasons["#4"] == "item is not an object"
    assert "negative price" in reasons["neg"]
    assert "only a link" in reasons["linked"]
    assert "not an ISO 8601" in reasons["bad-date"]


def test_when_oruk_records_are_malformed_then_each_gets_a_reason(tmp_path: Path, shared_data: Path) -> None:
    service = json.loads((shared_data / "oruk" / "service_full.json").read_text())
    no_name = {**service, "id": "no-name", "name": ""}
    negative = {**service, "id": "neg", "cost_options": [{"option": "Standard", "amount": -1}]}
    old = {**service, "id": "old", "minimum_age": 400}
    feed = tmp_path / "list.json"
    feed.write_text(json.dumps({"contents": [service, no_name, negative, old, 42, {"name": "no id"}]}))
    result = import_path(feed, today=THEN)
    assert [a.id for a in result.activities] == [COUNSELLING]
    reasons = {r["id"]: r["reason"] for r in result.rejected}
    assert reasons == {
        "no-name": "missing name",
        "neg": "cost option Standard has a negative amount",
        "old": "age 400 is out of range",
        "#4": "not an object",
        "#5": "missing id",
    }


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        ("broken.json", '{"items": [ {"id": ', "not valid JSON"),
        ("empty.csv", "", "empty CSV"),
        ("other.csv", "title,when\nSwim,Monday\n", "needs at least the columns id and name"),
        ("latin1.csv", "id,name\n1,Caf\xe9 walk\n", "not a readable UTF-8 CSV"),
    ],
)
def test_when_a_file_cannot_be_read_then_a_feed_error_says_why(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    path = tmp_path / name
    path.write_bytes(text.encode("latin-1"))
    with pytest.raises(FeedError, match=message):
        import_path(path)


def test_when_a_path_is_missing_then_a_feed_error_names_it(tmp_path: Path) -> None:
    with pytest.raises(FeedError, match="no such file"):
        import_path(tmp_path / "nope.json")


# ── plain CSV ───────────────────────────────────────────────────────────────

PLAIN = """id,name,activity,venue,town,days,start_time,end_time,cost,carer_cost,min_age,gender,level,accessibility
p1,Seated Exercise Club,Chair Based Exercise,Hall,Witham,Tue;Thu,10:00,11:00,free,,55,,Beginners welcome,\
Hearing loop; Step-free access
p2,Ladies Swim,Swimming,Pool,Maldon,Friday,19:00,20:00,3.50,0,16,female,,Pool hoist
p3,Bad day,Walking,,Witham,Funday,10:00,11:00,,,,,,
p4,Bad cost,Walking,,Witham,MO,10:00,11:00,cheap,,,,,
,No id,Walking,,Witham,MO,10:00,11:00,,,,,,
p6,Bad gender,Walking,,Witham,MO,10:00,11:00,,,,other,,
"""


def test_when_a_plain_csv_is_imported_then_good_rows_map_and_bad_rows_have_reasons(tmp_path: Path) -> None:
    path = tmp_path / "local.csv"
    path.write_text(PLAIN)
    result = import_path(path)
    assert result.format == "csv"
    first, second = result.activities
    assert first.schedules[0].days == ["TU", "TH"] and first.free is True and first.level == "beginner"
    assert first.accessibility == ["hearing_loop", "step_free"] and first.activity_types == ["Chair Based Exercise"]
    assert second.gender == "female" and second.carer_free is True and second.free is False
    assert second.accessibility == ["hoist"]
    reasons = {r["id"]: r["reason"] for r in result.rejected}
    assert "'Funday' is not a day" in reasons["p3"]
    assert "'cheap' is not an amount" in reasons["p4"]
    assert reasons["row 6"] == "missing id"
    assert "not any, female or male" in reasons["p6"]


# ── the sample directory maps as the gold rules read it ─────────────────────


def test_when_the_sample_is_imported_then_level_gender_cost_and_access_agree_with_the_gold_rules(
    gold_rules: Any,
) -> None:
    rules = gold_rules
    raw = {s["id"]: s for s in rules.load_services()}
    result = import_path(SAMPLE)
    assert result.rejected == [] and len(result.activities) == len(raw) >= 150
    levels = {"beginner": "beginner", "intermediate": "intermediate", "all": ""}
    tags = {"Pool hoist": "hoist", "Pool Pod": "pool_pod", "Changing Places toilet": "changing_places",
            "Hearing loop": "hearing_loop", "Step-free access": "step_free", "Accessible parking": "parking",
            "Wheelchair accessible": "wheelchair", "Accessible changing rooms": "accessible_changing"}
    for a in result.activities:
        service = raw[a.id]
        assert a.level == levels[rules.level_of(service)], a.name
        assert a.gender == rules.gender_of(service), a.name
        assert bool(a.free) == rules.is_free(service), a.name
        assert (bool(a.free) or bool(a.carer_free)) == rules.is_carer_free(service), a.name
        assert set(a.accessibility) == {tags[x] for x in rules.access_of(service)}, a.name
        assert a.location.town == rules.town_of(service)
        assert set(a.activity_types) >= rules.labels_of(service)


@pytest.mark.parametrize(
    ("text", "level", "gender"),
    [
        ("Open to everyone. Beginners welcome.", "beginner", "any"),
        ("Women only. Intermediate: for improvers.", "intermediate", "female"),
        ("Men only. All abilities welcome.", "", "male"),
        ("From beginners to intermediate players", "", "any"),
        ("Women-only session", "", "female"),
    ],
)
def test_when_eligibility_is_read_then_level_and_gender_follow_the_words(text: str, level: str, gender: str) -> None:
    assert (level_of(text), gender_of(text)) == (level, gender)


def test_when_an_oruk_service_is_defunct_then_it_is_deleted_not_imported(tmp_path: Path, shared_data: Path) -> None:
    service = json.loads((shared_data / "oruk" / "service_full.json").read_text())
    feed = tmp_path / "closed.json"
    feed.write_text(json.dumps([{**service, "status": "defunct"}]))
    result = import_path(feed, today=THEN)
    assert result.activities == [] and result.rejected == [] and result.deleted == [COUNSELLING]
