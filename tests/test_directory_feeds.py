"""Importers on awkward real-world feeds: UK time, ended sessions, frequency, duplicate ids, hostile files."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest

import assistant.directory as directory
from assistant.directory import import_path
from assistant.errors import FeedError

TODAY = date(2025, 6, 1)


def _rpde(items: list[Any], next_url: str = "https://a.example.org/rpde/sessions?afterId=1") -> dict[str, Any]:
    return {"next": next_url, "items": items}


def _session(item_id: Any, start: str, end: str, **extra: Any) -> dict[str, Any]:
    return {
        "state": "updated",
        "kind": "ScheduledSession",
        "id": item_id,
        "modified": 1,
        "data": {"@type": "ScheduledSession", "name": "Late swim", "startDate": start, "endDate": end, **extra},
    }


def _series(item_id: Any, name: str = "Aquafit", **schedule: Any) -> dict[str, Any]:
    return {
        "state": "updated",
        "kind": "SessionSeries",
        "id": item_id,
        "modified": 1,
        "data": {
            "@type": "SessionSeries",
            "name": name,
            "eventSchedule": [
                {"byDay": ["https://schema.org/Friday"], "startTime": "10:00", "endTime": "11:00", **schedule}
            ],
        },
    }


def _service(service_id: Any = "s1", **schedule: Any) -> dict[str, Any]:
    return {
        "id": service_id,
        "name": "Tea dance",
        "schedules": [{"freq": "WEEKLY", "byday": "MO", "opens_at": "14:00", "closes_at": "16:00", **schedule}],
    }


def _write(tmp_path: Path, name: str, data: Any) -> Path:
    path = tmp_path / name
    path.write_text(json.dumps(data), encoding="utf-8")
    return path


# ── schedules ───────────────────────────────────────────────────────────────


def test_when_a_session_is_written_in_utc_then_it_is_shown_in_uk_time(tmp_path: Path) -> None:
    feed = _write(tmp_path, "s.json", _rpde([_session("late", "2025-07-01T23:30:00Z", "2025-07-02T00:30:00Z")]))
    (a,) = import_path(feed, today=TODAY).activities
    (schedule,) = a.schedules
    assert (schedule.days, schedule.start_time, schedule.end_time) == (["WE"], "00:30", "01:30")  # BST is UTC+1


def test_when_sessions_or_services_have_ended_then_they_are_left_out_and_counted(tmp_path: Path) -> None:
    feed = _write(
        tmp_path,
        "s.json",
        _rpde(
            [
                _session("past", "2025-05-01T10:00:00+01:00", "2025-05-01T11:00:00+01:00"),
                _session("future", "2025-07-01T10:00:00+01:00", "2025-07-01T11:00:00+01:00"),
                _series("over", endDate="2025-03-31", repeatFrequency="P1W"),
                {**_series("series-over"), "data": {**_series("x")["data"], "endDate": "2025-01-01"}},
            ]
        ),
    )
    result = import_path(feed, today=TODAY)
    assert [a.source_id for a in result.activities] == ["future"]
    assert {s["id"] for s in result.skipped} == {"past", "over", "series-over"}
    assert all(s["reason"].startswith("ended") for s in result.skipped)
    assert "openactive:a.example.org/rpde/sessions:past" in result.deleted  # an indexed copy is removed
    oruk = _write(tmp_path, "o.json", [_service("gone", valid_to="2005-01-01"), _service("on", valid_to="2030-01-01")])
    result = import_path(oruk, today=TODAY)
    # an ORUK service still listed as active stays; only its out-of-date timetable goes, and it says so
    gone, on = result.activities
    assert (gone.id, on.id) == ("gone", "on") and result.skipped == []
    (note,) = gone.schedules
    assert note.days == [] and note.start_time is None
    assert note.description == "The published timetable ran until 2005-01-01; check current times with the provider."
    assert on.schedules[0].days


def test_when_the_shared_oruk_example_is_imported_today_then_its_2005_timetable_is_marked_out_of_date(
    shared_data: Path,
) -> None:
    result = import_path(shared_data / "oruk" / "service_full.json")
    assert result.rejected == [] and result.skipped == []
    (service,) = result.activities
    assert [(s.days, s.description[:40]) for s in service.schedules] == [
        ([], "The published timetable ran until 2005-0")
    ]


@pytest.mark.parametrize(
    ("schedule", "frequency"),
    [
        ({"freq": "MONTHLY", "byday": "1MO"}, "first Monday of the month"),
        ({"freq": "MONTHLY", "byday": "-1MO"}, "last Monday of the month"),
        ({"freq": "WEEKLY", "interval": 2}, "every other week"),
        ({"freq": "WEEKLY", "interval": 1}, "weekly"),
    ],
)
def test_when_an_oruk_schedule_is_not_weekly_then_its_frequency_is_kept(
    tmp_path: Path, schedule: dict[str, Any], frequency: str
) -> None:
    (a,) = import_path(_write(tmp_path, "o.json", [_service(**schedule)]), today=TODAY).activities
    assert a.schedules[0].frequency == frequency and a.schedules[0].days == ["MO"]


def test_when_an_openactive_schedule_is_fortnightly_then_it_says_so(tmp_path: Path) -> None:
    feed = _write(tmp_path, "s.json", _rpde([_series("f", repeatFrequency="P2W")]))
    (a,) = import_path(feed, today=TODAY).activities
    assert a.schedules[0].frequency == "every other week"


def test_when_a_csv_time_has_am_or_pm_then_it_is_read_as_24_hour(tmp_path: Path) -> None:
    path = tmp_path / "local.csv"
    path.write_text("id,name,days,start_time,end_time\np1,Evening walk,Tue,7:00pm,8.30 pm\np2,Early,Wed,7am,12pm\n")
    first, second = import_path(path).activities
    assert (first.schedules[0].start_time, first.schedules[0].end_time) == ("19:00", "20:30")
    assert (second.schedules[0].start_time, second.schedules[0].end_time) == ("07:00", "12:00")


# ── ids ─────────────────────────────────────────────────────────────────────


def test_when_a_file_repeats_an_id_then_the_duplicate_is_rejected_with_a_reason(tmp_path: Path) -> None:
    feed = _write(tmp_path, "dup.json", [_service("a"), {**_service("a"), "name": "Other"}])
    result = import_path(feed, today=TODAY)
    assert [a.name for a in result.activities] == ["Tea dance"]
    assert result.rejected == [{"id": "a", "reason": "duplicate id 'a' in this file; kept the first"}]
    csv_path = tmp_path / "dup.csv"
    csv_path.write_text("id,name\n1,Walk\n1,Swim\n")
    result = import_path(csv_path)
    assert len(result.activities) == 1 and "duplicate id '1'" in result.rejected[0]["reason"]


def test_when_two_publishers_use_the_same_id_then_both_are_kept(tmp_path: Path) -> None:
    a = _write(tmp_path, "a.json", _rpde([_series("42", "Aquafit")], "https://a.example.org/rpde/ss?afterId=9"))
    b = _write(tmp_path, "b.json", _rpde([_series("42", "Boxing")], "https://b.example.org/rpde/ss?afterId=9"))
    deleted_b = _write(
        tmp_path, "b2.json", _rpde([{"state": "deleted", "id": "42"}], "https://b.example.org/rpde/ss?afterId=10")
    )
    (from_a,) = import_path(a, today=TODAY).activities
    (from_b,) = import_path(b, today=TODAY).activities
    assert from_a.id != from_b.id and from_a.source_id == from_b.source_id == "42"
    # a later page of B deletes B's record, and the id an index built before ids carried their feed held it under
    assert import_path(deleted_b, today=TODAY).deleted == [from_b.id, "openactive:42"]
    assert from_a.id not in import_path(deleted_b, today=TODAY).deleted


def test_when_an_index_holds_records_under_their_old_ids_then_a_re_import_replaces_them(tmp_path: Path) -> None:
    from assistant.services import Services
    from assistant.settings import Settings

    svc = Services(Settings(home=tmp_path / "home", whisper_threads=2))
    feed = _write(tmp_path, "page1.json", _rpde([_series("42", "Aquafit"), _series("43", "Boxing")]))
    rows = tmp_path / "clubs.csv"
    rows.write_text("id,name,town\n7,Walk,Witham\n8,Swim,Maldon\n")
    new = [*import_path(feed, today=TODAY).activities, *import_path(rows).activities]
    # the index as it was before ids carried their feed or file: openactive:42, and the CSV's bare 7 and 8;
    # an ORUK service's id is bare too, and one that equals a CSV row's ("9") must survive the CSV's import
    old = [a.model_copy(update={"id": directory.legacy_id(a)}) for a in new]
    (service,) = import_path(_write(tmp_path, "oruk.json", [_service("9")]), today=TODAY).activities
    svc.index.upsert([*old, service])
    assert svc.index.ids() == {"openactive:42", "openactive:43", "7", "8", "9"}

    rows.write_text("id,name,town\n7,Walk,Witham\n8,Swim,Maldon\n9,Bowls,Harlow\n")
    report = svc.ingest([feed, rows])
    assert report.rejected == []
    assert svc.index.ids() == {a.id for a in new} | {"csv:clubs.csv:9", "9"}  # replaced, not duplicated
    assert svc.index.count() == 6
    gone = _write(tmp_path, "page2.json", _rpde([{"state": "deleted", "id": "43"}]))
    svc.index.upsert([old[1]])  # 43 back under its old id: a deletion reaches it
    svc.ingest([gone])
    assert not {"openactive:43", new[1].id} & svc.index.ids()


def test_when_the_sample_directory_is_imported_then_its_ids_are_the_services_own(tmp_path: Path) -> None:
    sample = Path(__file__).resolve().parent.parent / "knowledge" / "sample-directory.json"
    raw = json.loads(sample.read_text())["contents"]
    activities = import_path(sample).activities
    assert [a.id for a in activities] == [r["id"] for r in raw if r.get("status", "active") == "active"]
    assert all(directory.legacy_id(a) is None for a in activities)


# ── hostile files ───────────────────────────────────────────────────────────


def test_when_a_csv_row_has_an_extra_field_then_that_row_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "extra.csv"
    path.write_text("id,name,town\np1,Walk,Witham\np2,Swim, Maldon,Essex\n")
    result = import_path(path)
    assert [a.source_id for a in result.activities] == ["p1"]
    assert result.rejected[0]["id"] == "p2" and "1 more field(s) than the header" in result.rejected[0]["reason"]


def test_when_json_has_a_byte_order_mark_then_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "bom.json"
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps([_service()]).encode())
    assert len(import_path(path, today=TODAY).activities) == 1


def test_when_json_nests_absurdly_deep_then_a_feed_error_says_so(tmp_path: Path) -> None:
    path = tmp_path / "deep.json"
    path.write_text("[" * 100000 + "]" * 100000)
    with pytest.raises(FeedError, match="nests"):
        import_path(path, "oruk")


def test_when_an_id_is_a_number_then_it_is_an_id(tmp_path: Path) -> None:
    (a,) = import_path(_write(tmp_path, "n.json", [_service(123)]), today=TODAY).activities
    assert a.id == "123"
    feed = _write(tmp_path, "s.json", _rpde([_series(77)]))
    (b,) = import_path(feed, today=TODAY).activities
    assert b.source_id == "77"


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("organization", "Acme", "organization should be an object"),
        ("cost_options", ["£3"], "cost_options should be a list of objects"),
        ("service_at_locations", ["hall"], "service_at_locations should be a list of objects"),
        ("schedules", "Mondays", "schedules should be a list of objects"),
        ("contacts", ["Ann"], "contacts should be a list of objects"),
    ],
)
def test_when_a_nested_field_has_the_wrong_shape_then_the_reason_names_it(
    tmp_path: Path, field: str, value: Any, reason: str
) -> None:
    result = import_path(_write(tmp_path, "bad.json", [{**_service(), field: value}]), today=TODAY)
    assert result.activities == []
    assert reason in result.rejected[0]["reason"] and "attribute" not in result.rejected[0]["reason"]


def test_when_a_feed_is_over_the_size_limit_then_a_feed_error_says_so(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(directory, "MAX_FEED_BYTES", 100)
    path = _write(tmp_path, "big.json", [_service(str(n)) for n in range(10)])
    with pytest.raises(FeedError, match="limit for one feed file"):
        import_path(path)
