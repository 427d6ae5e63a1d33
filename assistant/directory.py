"""Importing activity directories into :class:`Activity` records.

- Open Referral UK 3.0 JSON: a single service, a paged list or an array, an
  organisation with its services, or service_at_location records;
- the ORUK 3.0 CSV form: a folder of tables (services.csv, locations.csv, ...);
- OpenActive RPDE pages: SessionSeries, ScheduledSession with its superEvent,
  FacilityUse, and deleted items (removed by id);
- a plain CSV (``PLAIN_COLUMNS``) for services in neither standard.

Each record is validated on its own, so one bad record is a reject with a reason,
never a failed import; a file that cannot be read at all is a ``FeedError``.
Records that are valid but not activities (taxonomies, Places) are skipped.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlparse
from zoneinfo import ZoneInfo

from pydantic import ValidationError

from assistant.errors import FeedError
from assistant.records import Activity, CostOption, Location, Schedule

Format = Literal["auto", "oruk", "openactive", "csv"]

ACCESSIBILITY_TAGS: dict[str, tuple[str, ...]] = {
    "hoist": ("pool hoist", "hoist"),
    "pool_pod": ("pool pod",),
    "changing_places": ("changing places",),
    "hearing_loop": ("hearing loop", "induction loop"),
    "step_free": ("step-free", "step free", "level access", "ramp"),
    "parking": ("accessible parking", "blue badge parking", "disabled parking"),
    "wheelchair": ("wheelchair accessible", "wheelchair access", "wheelchair"),
    "accessible_changing": ("accessible changing",),
}
DAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
DAY_NAMES = dict(
    zip(DAY_CODES, ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"), strict=True)
)
# Times in a feed are shown, and matched against "Tuesday morning", as UK local time.
LOCAL_TIME = ZoneInfo("Europe/London")
# The largest feed file read (one RPDE page or ORUK list); larger ones are refused with a clear message.
MAX_FEED_BYTES = 200 * 1024 * 1024
# How deeply a JSON feed may nest before it is refused (real feeds nest a handful of levels).
MAX_JSON_DEPTH = 64
# The key under which _read_csv keeps the count of a row's fields beyond its header.
EXTRA_FIELDS = "\x00extra"
ORDINALS = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth", -1: "last", -2: "second-to-last"}


def today_local() -> date:
    return datetime.now(LOCAL_TIME).date()


def gender_of(text: str) -> Literal["any", "female", "male"]:
    """A session restricted to one gender says so ("Women only", "men-only")."""
    lowered = text.lower()
    if re.search(r"\b(women|ladies|female|girls)[- ]only\b", lowered):
        return "female"
    if re.search(r"\b(men|gentlemen|male|boys)[- ]only\b", lowered):
        return "male"
    return "any"


def level_of(text: str) -> str:
    """ "beginner", "intermediate" or "" (all levels, or not said)."""
    lowered = text.lower()
    beginner = bool(re.search(r"\bbeginners?\b", lowered))
    intermediate = bool(re.search(r"\b(intermediate|improvers?)\b", lowered))
    if re.search(r"\ball (abilities|levels)\b", lowered) or beginner == intermediate:
        return ""
    return "beginner" if beginner else "intermediate"


def accessibility_tags(text: str) -> list[str]:
    lowered = text.lower()
    return [tag for tag, phrases in ACCESSIBILITY_TAGS.items() if any(p in lowered for p in phrases)]


@dataclass
class ImportResult:
    activities: list[Activity] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    rejected: list[dict[str, str]] = field(default_factory=list)
    format: str = ""
    skipped: list[dict[str, str]] = field(default_factory=list)
    _seen: set[str] = field(default_factory=set, repr=False)

    def reject(self, record_id: str, reason: str) -> None:
        self.rejected.append({"id": record_id, "reason": reason})

    def skip(self, record_id: str, reason: str) -> None:
        """A valid record that is not an activity (a taxonomy, a Place), or one that has ended."""
        self.skipped.append({"id": record_id, "reason": reason})

    def add(self, activity: Activity, record_id: str) -> None:
        """Keep an activity; an id already seen in this file is a reject (the first record stays)."""
        if activity.id in self._seen:
            self.reject(record_id, f"duplicate id {activity.source_id or activity.id!r} in this file; kept the first")
            return
        self._seen.add(activity.id)
        self.activities.append(activity)


class Ended(ValueError):
    """The record is valid but every session or schedule of it is over."""


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _id(value: Any) -> str:
    """An identifier: a string, or a whole number some publishers write unquoted ("id": 123)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return _text(value)


def _objects(raw: dict[str, Any], key: str) -> list[dict[str, Any]]:
    """A list of objects under ``key`` (missing: none); anything else is a clear reject reason."""
    value = raw.get(key)
    if value in (None, ""):
        return []
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, dict) for v in value if v is not None):
        raise ValueError(f"{key} should be a list of objects, not {_kind(value)}")
    return [v for v in value if v is not None]


def _object(raw: dict[str, Any], key: str) -> dict[str, Any]:
    value = raw.get(key)
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise ValueError(f"{key} should be an object, not {_kind(value)}")
    return value


def _kind(value: Any) -> str:
    if isinstance(value, list):
        return "a list of " + " and ".join(sorted({_kind(v) for v in value}))
    if isinstance(value, dict):
        return "an object"
    if isinstance(value, int | float) and not isinstance(value, bool):
        return "a number"
    return "text" if isinstance(value, str) else type(value).__name__


def _time(value: Any) -> str | None:
    """HH:MM from "19:00", "19:00:00", "19.00", "7pm", "7:00pm", "7.30 p.m.", "12am"."""
    text = _text(value).lower()
    match = re.match(r"^(\d{1,2})(?:[:.](\d{2}))?(?::\d{2})?\s*(a\.?m\.?|p\.?m\.?)?$", text) or re.match(
        r"^(\d{1,2})[:.](\d{2})()", text
    )
    if not match or (match.group(2) is None and not match.group(3)):
        return None
    minutes = clock_minutes(int(match.group(1)), int(match.group(2) or 0), match.group(3))
    return f"{minutes // 60:02d}:{minutes % 60:02d}" if minutes is not None else None


def clock_minutes(hour: int, minute: int, meridiem: str | None) -> int | None:
    """Minutes after midnight of a clock time, with "am"/"pm" (or none: 24-hour); None if it is no time."""
    mark = (meridiem or "").lower()[:1]
    if mark in ("a", "p"):
        if not 1 <= hour <= 12:
            return None
        hour = hour % 12 + (12 if mark == "p" else 0)
    return hour * 60 + minute if hour < 24 and minute < 60 else None


def _date(value: Any) -> date | None:
    """The date part of an ISO date or date-time (an unreadable one is None)."""
    text = _text(value)
    try:
        return date.fromisoformat(text[:10]) if text else None
    except ValueError:
        return None


def _oruk_frequency(s: dict[str, Any], days: list[str]) -> str:
    """ "weekly", "every other week", "first Monday of the month", "monthly", "daily" from ORUK's RRULE parts."""
    freq = _text(s.get("freq")).lower()
    interval = _number(s.get("interval"))
    every = int(interval) if interval and interval > 1 else 1
    if freq == "weekly":
        return "weekly" if every == 1 else "every other week" if every == 2 else f"every {every} weeks"
    if freq == "monthly":
        nth = [
            (int(m.group(1)), m.group(2).upper())
            for d in _text(s.get("byday")).split(",")
            if (m := re.match(r"^\s*([+-]?\d)\s*([A-Za-z]{2})\s*$", d)) and m.group(2).upper() in DAY_CODES
        ]
        period = "month" if every == 1 else "other month" if every == 2 else f"{every} months"
        if nth:
            words = " and ".join(f"{ORDINALS.get(n, f'{n}th')} {DAY_NAMES[c]}" for n, c in nth)
            return f"{words} of the {period}" if every == 1 else f"{words} of every {period}"
        return "monthly" if every == 1 else f"every {period}"
    if freq == "daily":
        return "daily" if every == 1 else f"every {every} days"
    return freq


def _iso_frequency(value: Any) -> str:
    """OpenActive's repeatFrequency (an ISO 8601 duration: P1W, P2W, P1M, P1D) in words."""
    text = _text(value).upper()
    match = re.fullmatch(r"P(\d+)([DWM])", text)
    if not match:
        return text.lower()
    n, unit = int(match.group(1)), {"D": "day", "W": "week", "M": "month"}[match.group(2)]
    if n == 1:
        return {"day": "daily", "week": "weekly", "month": "monthly"}[unit]
    return f"every other {unit}" if n == 2 else f"every {n} {unit}s"


def _point(lat: Any, lon: Any) -> tuple[float | None, float | None]:
    """Latitude and longitude, both or neither (an out-of-range pair is dropped whole)."""
    latitude, longitude = _coordinate(lat, 90), _coordinate(lon, 180)
    return (latitude, longitude) if latitude is not None and longitude is not None else (None, None)


def _coordinate(value: Any, limit: float) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if -limit <= number <= limit else None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    try:
        return float(_text(value).lstrip("£$€")) if _text(value) else None
    except ValueError:
        return None


def _age(value: Any) -> int | None:
    number = _number(value)
    if number is None:
        return None
    if not 0 <= number <= 130:
        raise ValueError(f"age {value!r} is out of range")
    return int(number)


def activity_types(terms: Iterable[str], name: str = "") -> list[str]:
    """The record's own terms, plus the OpenActive labels they (or, failing that, the name) name."""
    from assistant.activities import activity_list

    vocab = activity_list()
    terms = [t for t in terms if t]
    labels = [c.label for t in terms for c, firm in vocab.mentions(t) if firm]
    if not labels and name:
        labels = [c.label for c, firm in vocab.mentions(name) if firm]
    return list(dict.fromkeys([*terms, *labels]))


def _days(byday: Any) -> list[str]:
    codes = [re.sub(r"^[+-]?\d+", "", d.strip().upper()) for d in _text(byday).split(",") if d.strip()]
    return [c for c in codes if c in DAY_CODES]


def oruk_service(raw: dict[str, Any], source: str, today: date | None = None) -> Activity:
    """One ORUK 3.0 service (with nested locations, schedules, costs, accessibility, attributes).

    Schedules whose ``valid_to`` (or ``until``) is before ``today`` are dropped; a service all of
    whose schedules have ended is kept, with a schedule that says its timetable is out of date.
    """
    if not isinstance(raw, dict):
        raise ValueError("not an object")
    if raw.get(EXTRA_FIELDS):
        raise ValueError(f"the row has {raw[EXTRA_FIELDS]} more field(s) than the header (an unquoted comma?)")
    service_id = _id(raw.get("id"))
    if not service_id:
        raise ValueError("missing id")
    today = today or today_local()
    name = _text(raw.get("name"))
    if not name:
        raise ValueError("missing name")
    if _text(raw.get("status")) in {"inactive", "defunct"}:
        raise ValueError(f"status is {raw['status']}")

    location = Location()
    access_texts: list[str] = []
    schedules_raw = _objects(raw, "schedules")
    for sal in _objects(raw, "service_at_locations"):
        loc = _object(sal, "location")
        addresses = _objects(loc, "addresses")
        address = addresses[0] if addresses else {}
        if not location.name:
            location = Location(
                name=_text(loc.get("name")),
                address=", ".join(x for x in (_text(address.get("address_1")), _text(address.get("address_2"))) if x),
                town=_text(address.get("city")),
                postcode=_text(address.get("postal_code")),
                latitude=_point(loc.get("latitude"), loc.get("longitude"))[0],
                longitude=_point(loc.get("latitude"), loc.get("longitude"))[1],
            )
        for item in _objects(loc, "accessibility"):
            access_texts += [
                _text(item.get("description")),
                _text(item.get("details")),
                _text(item.get("accessibility")),
            ]
        schedules_raw += _objects(sal, "schedules")

    current = [s for s in schedules_raw if not _ended_on(s, today)]
    schedules = [
        Schedule(
            days=_days(s.get("byday")),
            start_time=_time(s.get("opens_at")),
            end_time=_time(s.get("closes_at")),
            frequency=_oruk_frequency(s, _days(s.get("byday"))),
            description=_text(s.get("description")),
        )
        for s in current
    ]
    if schedules_raw and not current:
        # the service is still listed as active; only its timetable is out of date, so it is kept with no days
        # or times (a question about a day cannot match it) and says so
        last = max((d for s in schedules_raw if (d := _ended_on(s, today))), default=None)
        schedules = [
            Schedule(description=f"The published timetable ran until {last}; check current times with the provider.")
        ]
    costs: list[CostOption] = []
    for c in _objects(raw, "cost_options"):
        amount = _number(c.get("amount"))
        if amount is not None and amount < 0:
            raise ValueError(f"cost option {_text(c.get('option')) or '?'} has a negative amount")
        costs.append(
            CostOption(
                option=_text(c.get("option")),
                amount=amount,
                description=_text(c.get("amount_description")),
            )
        )
    amounts = [c.amount for c in costs if c.amount is not None and "carer" not in c.option.lower()]
    free = (all(a == 0 for a in amounts) if amounts else None) if costs else None
    carer_options = [c for c in costs if "carer" in c.option.lower()]
    carer_free = any(c.amount == 0 for c in carer_options) if carer_options else None

    terms: list[str] = []
    for attribute in _objects(raw, "attributes"):
        term = _object(attribute, "taxonomy_term")
        label = _text(term.get("name")) or _text(term.get("term"))
        if label and label.lower() != "name":
            terms.append(label)
    eligibility = _text(raw.get("eligibility_description"))
    lowered = f"{eligibility} {_text(raw.get('description'))}".lower()
    contacts = _objects(raw, "contacts")
    contact = ", ".join(x for x in (_text(raw.get("email")), _text((contacts[0] if contacts else {}).get("name"))) if x)
    organisation = _object(raw, "organization")
    return Activity(
        id=service_id,
        name=name,
        description=_text(raw.get("description")),
        activity_types=activity_types(terms, name),
        organisation=_text(organisation.get("name")),
        location=location,
        schedules=schedules,
        costs=costs,
        free=free,
        carer_free=carer_free,
        min_age=_age(raw.get("minimum_age")),
        max_age=_age(raw.get("maximum_age")),
        gender=gender_of(lowered),
        level=level_of(lowered),
        accessibility=sorted(set(accessibility_tags(" ".join(access_texts)))),
        accessibility_notes=" ".join(t for t in access_texts if t)[:500],
        eligibility=eligibility,
        contact=contact,
        booking=_text(raw.get("url")) or _text(raw.get("application_process")),
        quality_marks=[_text(raw.get("accreditations"))] if _text(raw.get("accreditations")) else [],
        source=source,
        source_id=service_id,
        last_modified=_text(raw.get("last_modified")) or None,
        sample="sample data" in lowered,
    )


def _ended_on(schedule: dict[str, Any], today: date) -> date | None:
    """The day an ORUK schedule stopped (``valid_to`` or ``until`` before today), else None."""
    ends = [d for key in ("valid_to", "until") if (d := _date(schedule.get(key))) is not None]
    return min(ends) if ends and min(ends) < today else None


# ── ORUK 3.0 JSON ──────────────────────────────────────────────────────────


def _oruk_records(data: Any) -> Iterator[tuple[str, Any]]:
    """(kind, record) for each record: services, and services nested in organisations or service_at_location."""
    if isinstance(data, list):
        items: list[Any] = data
    elif isinstance(data, dict) and isinstance(data.get("contents"), list):
        items = data["contents"]
    elif isinstance(data, dict):
        items = [data]
    else:
        raise FeedError("the file is JSON but neither an ORUK service, a paged list nor an array")
    for item in items:
        if not isinstance(item, dict):
            yield "service", item
        elif isinstance(item.get("service"), dict) and isinstance(item.get("location"), dict):
            service = dict(item["service"])
            service["service_at_locations"] = [
                {"id": item.get("id"), "location": item["location"]},
                *list(service.get("service_at_locations") or []),
            ]
            yield "service", service
        elif isinstance(item.get("services"), list):  # an organisation with its services
            organisation = {k: v for k, v in item.items() if k != "services"}
            for service in item["services"]:
                if isinstance(service, dict):
                    yield "service", {"organization": organisation, **service}
                else:
                    yield "service", service
        elif "taxonomy_terms" in item or {"term", "taxonomy"} <= set(item) or "term_uri" in item:
            yield "taxonomy", item
        else:
            yield "service", item


def check_size(path: Path) -> None:
    """Refuse a file over ``MAX_FEED_BYTES`` before reading it."""
    try:
        size = path.stat().st_size
    except FileNotFoundError as exc:
        raise FeedError(f"{path}: no such file") from exc
    if size > MAX_FEED_BYTES:
        raise FeedError(
            f"{path}: {size / 1048576:.0f} MB is over the {MAX_FEED_BYTES / 1048576:.0f} MB limit for one feed file; "
            "import the feed a page at a time"
        )


def _depth(text: str) -> int:
    """How deeply brackets nest in JSON text (brackets inside strings are skipped)."""
    deepest = depth = 0
    for token in re.finditer(r'"(?:[^"\\]|\\.)*"|[\[\]{}]', text):
        char = token.group()
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth -= 1
    return deepest


def read_json(path: Path) -> Any:
    check_size(path)
    try:
        text = path.read_text(encoding="utf-8-sig")  # a byte-order mark is common from Windows tools
    except FileNotFoundError as exc:
        raise FeedError(f"{path}: no such file") from exc
    except UnicodeDecodeError as exc:
        raise FeedError(f"{path}: not valid JSON ({exc}); check the file is an ORUK or OpenActive feed") from exc
    if _depth(text) > MAX_JSON_DEPTH:
        raise FeedError(f"{path}: the JSON nests more than {MAX_JSON_DEPTH} levels deep; no directory feed does")
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise FeedError(f"{path}: not valid JSON ({exc}); check the file is an ORUK or OpenActive feed") from exc
    except RecursionError as exc:
        raise FeedError(f"{path}: the JSON nests too deeply to read") from exc


def _reason(exc: Exception) -> str:
    """A reject reason; Python's own wording for a malformed shape is replaced by a plain one."""
    if isinstance(exc, TypeError | AttributeError):
        return "malformed record: a field holds the wrong kind of value"
    return str(exc).splitlines()[0]


def _oruk_from(records: Iterable[tuple[str, Any]], source: str, fmt: str, today: date | None = None) -> ImportResult:
    result = ImportResult(format=fmt)
    for index, (kind, raw) in enumerate(records):
        record_id = (_id(raw.get("id")) or f"#{index}") if isinstance(raw, dict) else f"#{index}"
        if kind == "taxonomy":
            result.skip(record_id, "a taxonomy, not a service")
            continue
        if isinstance(raw, dict) and _text(raw.get("status")) in {"inactive", "defunct"} and _id(raw.get("id")):
            result.deleted.append(record_id)  # a service that has closed leaves the index
            continue
        try:
            result.add(oruk_service(raw, source=source, today=today), record_id)
        except Ended as exc:  # an ended service is counted, and leaves the index if it was there
            result.skip(record_id, str(exc))
            result.deleted.append(record_id)
        except (ValueError, ValidationError, TypeError, AttributeError) as exc:
            result.reject(record_id, _reason(exc))
    return result


def import_oruk(path: Path, today: date | None = None) -> ImportResult:
    if path.is_dir() or path.suffix.lower() == ".csv":
        return import_oruk_csv(path, today)
    return _oruk_from(_oruk_records(read_json(path)), f"oruk:{path.name}", "oruk", today)


# ── ORUK 3.0 CSV tables ────────────────────────────────────────────────────

ORUK_TABLES = ("services.csv", "locations.csv", "service_at_location.csv")


def _read_csv(path: Path) -> list[dict[str, str]]:
    """Rows as dicts; a row with more fields than the header keeps their count under ``EXTRA_FIELDS``."""
    check_size(path)
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            if not reader.fieldnames:
                raise FeedError(f"{path}: empty CSV (no header row)")
            rows = []
            for row in reader:
                extra = row.pop(None, None)
                clean = {(k or "").strip(): v.strip() if isinstance(v, str) else "" for k, v in row.items()}
                if extra:
                    clean[EXTRA_FIELDS] = str(len(extra))
                rows.append(clean)
            return rows
    except FileNotFoundError as exc:
        raise FeedError(f"{path}: no such file") from exc
    except (UnicodeDecodeError, csv.Error) as exc:
        raise FeedError(f"{path}: not a readable UTF-8 CSV ({exc})") from exc


def is_oruk_csv(path: Path) -> bool:
    folder = path if path.is_dir() else path.parent
    return (folder / "services.csv").exists() and (path.is_dir() or path.name == "services.csv")


def import_oruk_csv(path: Path, today: date | None = None) -> ImportResult:
    """The ORUK CSV form: one table a file (services, organizations, locations, addresses, ...), joined by id."""
    folder = path if path.is_dir() else path.parent
    if not (folder / "services.csv").exists():
        where = "in it" if path.is_dir() else "beside it"
        raise FeedError(
            f"{path}: no services.csv {where}; the ORUK CSV form is a folder of tables with services.csv "
            "(for a plain CSV of activities use --format csv or auto)"
        )

    def table(*names: str) -> list[dict[str, str]]:
        rows: list[dict[str, str]] = []
        seen: set[str] = set()
        for name in names:
            if (folder / name).exists():
                for row in _read_csv(folder / name):
                    if name == "services.csv":  # a repeated service is reported as a duplicate, not dropped silently
                        rows.append(row)
                        continue
                    key = row.get("id") or json.dumps(row, sort_keys=True)
                    if key not in seen:
                        seen.add(key)
                        rows.append(row)
        return rows

    def by(rows: list[dict[str, str]], key: str) -> dict[str, list[dict[str, str]]]:
        out: dict[str, list[dict[str, str]]] = {}
        for row in rows:
            out.setdefault(row.get(key, ""), []).append(row)
        return out

    organisations = {r["id"]: r for r in table("organizations.csv") if r.get("id")}
    locations = {r["id"]: r for r in table("locations.csv") if r.get("id")}
    addresses = by(table("addresses.csv", "address.csv"), "location_id")
    access = by(table("accessibility.csv"), "location_id")
    sals = by(table("service_at_location.csv"), "service_id")
    schedules = by(table("schedules.csv", "schedule.csv"), "service_id")
    costs = by(table("cost_options.csv"), "service_id")
    contacts = by(table("contacts.csv"), "service_id")
    terms = {r["id"]: r for r in table("taxonomy_terms.csv") if r.get("id")}
    attributes = by(table("attributes.csv", "attribute.csv"), "link_id")

    def nested(service: dict[str, str]) -> dict[str, Any]:
        sid = service.get("id", "")
        raw: dict[str, Any] = dict(service)
        raw["organization"] = organisations.get(service.get("organization_id", ""), {})
        raw["service_at_locations"] = [
            {
                "id": sal.get("id"),
                "location": {
                    **locations.get(sal.get("location_id", ""), {}),
                    "addresses": addresses.get(sal.get("location_id", ""), []),
                    "accessibility": access.get(sal.get("location_id", ""), []),
                },
            }
            for sal in sals.get(sid, [])
        ]
        raw["schedules"] = schedules.get(sid, [])
        raw["cost_options"] = costs.get(sid, [])
        raw["contacts"] = contacts.get(sid, [])
        raw["attributes"] = [
            {"taxonomy_term": terms.get(a.get("taxonomy_term_id", ""), {})} for a in attributes.get(sid, [])
        ]
        return raw

    services = table("services.csv")
    return _oruk_from((("service", nested(s)) for s in services), f"oruk-csv:{folder.name}", "oruk-csv", today)


# ── OpenActive RPDE ────────────────────────────────────────────────────────

SCHEMA_DAYS = {
    name: code
    for code, name in zip(
        DAY_CODES, ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"), strict=True
    )
}
GENDERS: dict[str, Literal["any", "female", "male"]] = {"femaleonly": "female", "maleonly": "male"}
OPPORTUNITY_TYPES = (
    "SessionSeries",
    "ScheduledSession",
    "FacilityUse",
    "IndividualFacilityUse",
    "Slot",
    "Event",
    "CourseInstance",
    "HeadlineEvent",
    "OnDemandEvent",
    "Course",
)


def _oa_day(value: Any) -> str | None:
    name = _text(value).rstrip("/").rsplit("/", 1)[-1].lower()
    return SCHEMA_DAYS.get(name) or (name.upper() if name.upper() in DAY_CODES else None)


def _oa_moment(value: Any) -> datetime | None:
    """An ISO date-time in UK local time (one written with an offset or Z is converted; one without is local)."""
    text = _text(value)
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError as exc:
        raise ValueError(f"startDate {text!r} is not an ISO 8601 date-time") from exc
    return moment.astimezone(LOCAL_TIME) if moment.tzinfo is not None else moment


def _oa_datetime(value: Any) -> tuple[str | None, str | None]:
    """(day code, HH:MM) from an ISO date-time, in UK local time (Europe/London)."""
    moment = _oa_moment(value)
    if moment is None:
        return None, None
    return DAY_CODES[moment.weekday()], moment.strftime("%H:%M")


def feed_key(data: Any, path: Path) -> str:
    """Which feed a page belongs to: its RPDE ``next`` URL without the query (the same on every page of
    one publisher's feed), else the file's name. It is part of every id, so two publishers' "42" differ."""
    url = urlparse(_text(data.get("next")) if isinstance(data, dict) else "")
    if url.netloc:
        return f"{url.netloc}{url.path}".rstrip("/")
    return path.stem


def _labels(values: Any) -> list[str]:
    out = []
    for value in values if isinstance(values, list) else [values] if values else []:
        label = _text(value.get("prefLabel") or value.get("name")) if isinstance(value, dict) else _text(value)
        if label:
            out.append(label)
    return out


def _oa_location(place: Any) -> tuple[Location, list[str]]:
    if not isinstance(place, dict):
        return Location(), []
    address: dict[str, Any] = place["address"] if isinstance(place.get("address"), dict) else {}
    geo: dict[str, Any] = place["geo"] if isinstance(place.get("geo"), dict) else {}
    town = _text(address.get("addressLocality")) or _text(address.get("addressRegion"))
    location = Location(
        name=_text(place.get("name")),
        address=", ".join(
            x
            for x in (
                _text(address.get("streetAddress")),
                _text(address.get("addressLocality")),
                _text(address.get("addressRegion")),
            )
            if x
        ),
        town=town,
        postcode=_text(address.get("postalCode")),
        latitude=_point(geo.get("latitude"), geo.get("longitude"))[0],
        longitude=_point(geo.get("latitude"), geo.get("longitude"))[1],
    )
    features = [
        _text(f.get("name"))
        for f in place.get("amenityFeature") or []
        if isinstance(f, dict) and f.get("value") is True
    ]
    return location, features


def openactive_activity(item: dict[str, Any], source: str, feed: str = "", today: date | None = None) -> Activity:
    """One RPDE item (SessionSeries, ScheduledSession with its superEvent, FacilityUse) as an Activity.

    Times are UK local time. Schedules whose ``endDate`` is before ``today`` and past sub-events are
    dropped; a series, session or facility whose every date is past raises :class:`Ended`.
    """
    today = today or today_local()
    data = item.get("data")
    if not isinstance(data, dict):
        raise ValueError("no data object")
    kind = _text(data.get("@type") or data.get("type"))
    if kind not in OPPORTUNITY_TYPES:
        raise ValueError(f"@type {kind or 'missing'} is not an opportunity type")
    parent = data.get("superEvent") or data.get("facilityUse")
    if isinstance(parent, str):
        raise ValueError(f"its parent {parent} is only a link; import the feed that holds it too")
    parent = parent if isinstance(parent, dict) else {}
    merged = {**parent, **{k: v for k, v in data.items() if v not in (None, "", [])}}
    name = _text(merged.get("name"))
    if not name:
        raise ValueError("missing name")
    location, features = _oa_location(merged.get("location"))
    series_end = _oa_moment(data.get("endDate")) if kind != "ScheduledSession" else None
    if series_end is not None and series_end.date() < today:
        raise Ended(f"ended: its endDate was {series_end.date()}")
    schedules: list[Schedule] = []
    raw_schedules = [s for s in merged.get("eventSchedule") or [] if isinstance(s, dict)]
    for s in raw_schedules:
        stops = _date(s.get("endDate"))
        if stops is not None and stops < today:
            continue
        schedules.append(
            Schedule(
                days=[d for d in (_oa_day(x) for x in (s.get("byDay") or [])) if d],
                start_time=_time(s.get("startTime")),
                end_time=_time(s.get("endTime")),
                frequency=_iso_frequency(s.get("repeatFrequency")),
            )
        )
    if raw_schedules and not schedules:
        raise Ended(f"ended: every schedule's endDate is before {today}")
    if kind == "ScheduledSession" or (not schedules and data.get("startDate")):
        begins, finishes = _oa_moment(data.get("startDate")), _oa_moment(data.get("endDate"))
        if begins is not None:
            if (finishes or begins).date() < today:
                raise Ended(f"ended: a one-off session on {begins.date()}")
            schedules = [
                Schedule(
                    days=[DAY_CODES[begins.weekday()]],
                    start_time=begins.strftime("%H:%M"),
                    end_time=finishes.strftime("%H:%M") if finishes is not None else None,
                    frequency="once",
                    on=begins.date(),
                )
            ]
    if not schedules:
        by_slot: dict[tuple[str, str | None], Schedule] = {}
        subs = [sub for sub in merged.get("subEvent") or [] if isinstance(sub, dict)]
        for sub in subs:
            begins, finishes = _oa_moment(sub.get("startDate")), _oa_moment(sub.get("endDate"))
            if begins is not None and (finishes or begins).date() >= today:
                day, start = DAY_CODES[begins.weekday()], begins.strftime("%H:%M")
                end = finishes.strftime("%H:%M") if finishes is not None else None
                by_slot.setdefault((day, start), Schedule(days=[day], start_time=start, end_time=end))
        if subs and any(_text(sub.get("startDate")) for sub in subs) and not by_slot:
            raise Ended("ended: every sub-event is in the past")
        schedules = list(by_slot.values())
    costs = []
    for offer in merged.get("offers") or []:
        if isinstance(offer, dict):
            price = _number(offer.get("price"))
            if price is not None and price < 0:
                raise ValueError(f"offer {_text(offer.get('name')) or '?'} has a negative price")
            costs.append(
                CostOption(option=_text(offer.get("name")), amount=price, description=_text(offer.get("priceCurrency")))
            )
    amounts = [c.amount for c in costs if c.amount is not None and "carer" not in c.option.lower()]
    carers = [c for c in costs if "carer" in c.option.lower()]
    age: dict[str, Any] = merged["ageRange"] if isinstance(merged.get("ageRange"), dict) else {}
    gender_url = _text(merged.get("genderRestriction")).rsplit("/", 1)[-1].lower()
    levels = " ".join(_labels(merged.get("level")))
    support = _labels(merged.get("accessibilitySupport"))
    notes = [*support, *features, _text(merged.get("accessibilityInformation"))]
    organiser: dict[str, Any] = merged["organizer"] if isinstance(merged.get("organizer"), dict) else {}
    identifier = _id(item.get("id")) or _id(data.get("identifier")) or _text(data.get("@id"))
    modified = item.get("modified")
    return Activity(
        id=f"openactive:{feed}:{identifier}" if feed else f"openactive:{identifier}",
        name=name,
        description=_text(merged.get("description")),
        activity_types=activity_types(_labels(merged.get("activity")), name),
        organisation=_text(organiser.get("name")),
        location=location,
        schedules=schedules,
        costs=costs,
        free=(all(a == 0 for a in amounts) if amounts else None),
        carer_free=(any(c.amount == 0 for c in carers) if carers else None),
        min_age=_age(age.get("minValue")),
        max_age=_age(age.get("maxValue")),
        gender=GENDERS.get(gender_url, "any"),
        level=level_of(levels) if levels else "",
        accessibility=sorted(set(accessibility_tags(" ".join(notes)))),
        accessibility_notes="; ".join(n for n in notes if n)[:500],
        eligibility=", ".join(_labels(merged.get("category"))),
        contact=", ".join(x for x in (_text(organiser.get("email")), _text(organiser.get("telephone"))) if x),
        booking=_text(merged.get("url"))
        or next((_text(o.get("url")) for o in merged.get("offers") or [] if isinstance(o, dict) and o.get("url")), ""),
        source=source,
        source_id=identifier,
        last_modified=str(modified) if modified is not None else None,
    )


def _openactive_ids(feed: str, item_id: str) -> list[str]:
    """The ids an RPDE deletion removes: today's ``openactive:{feed}:{id}`` and the ``openactive:{id}`` an index
    built before ids carried their feed holds it under (deleting an id the index lacks does nothing)."""
    return list(dict.fromkeys([f"openactive:{feed}:{item_id}", f"openactive:{item_id}"]))


def legacy_id(activity: Activity) -> str | None:
    """The id this record had before ids carried their feed or file, when that differs from its id now:
    ``openactive:{id}`` for an OpenActive item, the bare ``{id}`` for a plain-CSV row (ORUK ids never changed).
    The index replaces a record stored under it (from the same kind of source) when the record is re-imported."""
    if not activity.source_id:
        return None
    if activity.source.startswith("openactive:"):
        old = f"openactive:{activity.source_id}"
    elif activity.source.startswith("csv:"):
        old = activity.source_id
    else:
        return None
    return old if old != activity.id else None


def import_openactive(path: Path, today: date | None = None) -> ImportResult:
    """An RPDE page ({items, next}); items are updated (imported) or deleted (removed by id).

    Ids are ``openactive:{feed}:{item id}`` (:func:`feed_key`), so publishers' ids never collide.
    """
    data = read_json(path)
    result = ImportResult(format="openactive")
    if isinstance(data, dict) and "items" not in data and ("@type" in data or "type" in data):
        data = {"items": [{"state": "updated", "id": data.get("identifier") or data.get("@id"), "data": data}]}
    if not isinstance(data, dict) or not isinstance(data.get("items"), list):
        raise FeedError(f"{path}: not an OpenActive RPDE page (expected an object with an 'items' list)")
    feed = feed_key(data, path)
    for index, item in enumerate(data["items"]):
        if not isinstance(item, dict):
            result.reject(f"#{index}", "item is not an object")
            continue
        item_id = _id(item.get("id")) or f"#{index}"
        state = _text(item.get("state"))
        if state == "deleted":
            result.deleted += _openactive_ids(feed, item_id)
            continue
        if state != "updated":
            result.reject(item_id, f"state is {state or 'missing'}; RPDE items are 'updated' or 'deleted'")
            continue
        if not _id(item.get("id")):
            result.reject(item_id, "missing id")
            continue
        kind = _text((item.get("data") or {}).get("@type") if isinstance(item.get("data"), dict) else "")
        if kind in {"Place", "Organization", "Person"}:
            result.skip(item_id, f"a {kind}, not an activity")
            continue
        try:
            result.add(openactive_activity(item, f"openactive:{path.name}", feed, today), item_id)
        except Ended as exc:
            result.skip(item_id, str(exc))
            result.deleted += _openactive_ids(feed, item_id)
        except (ValueError, ValidationError, TypeError, AttributeError) as exc:
            result.reject(item_id, _reason(exc))
    return result


# ── plain CSV ──────────────────────────────────────────────────────────────

PLAIN_COLUMNS = (
    "id",
    "name",
    "description",
    "activity",
    "organisation",
    "venue",
    "address",
    "town",
    "postcode",
    "latitude",
    "longitude",
    "days",
    "start_time",
    "end_time",
    "cost",
    "carer_cost",
    "min_age",
    "max_age",
    "gender",
    "level",
    "accessibility",
    "eligibility",
    "contact",
    "booking",
    "last_modified",
)
PLAIN_DAYS = {**{code.lower(): code for code in DAY_CODES}, **{n[:3]: c for n, c in SCHEMA_DAYS.items()}, **SCHEMA_DAYS}


def plain_row(row: dict[str, str], source: str) -> Activity:
    """One row of the plain CSV (columns in ``PLAIN_COLUMNS``; id and name required).

    Its id is ``csv:{file name}:{id}``, so two files' row "1" stay two activities.
    """
    if row.get(EXTRA_FIELDS):
        raise ValueError(f"the row has {row[EXTRA_FIELDS]} more field(s) than the header (an unquoted comma?)")
    if not row.get("id"):
        raise ValueError("missing id")
    if not row.get("name"):
        raise ValueError("missing name")
    days = []
    for word in re.split(r"[,;/ ]+", row.get("days", "").strip()):
        if word:
            code = PLAIN_DAYS.get(word.lower())
            if code is None:
                raise ValueError(f"day {word!r} is not a day (use MO..SU or Monday..Sunday)")
            days.append(code)
    start, end = _time(row.get("start_time")), _time(row.get("end_time"))
    if row.get("start_time") and start is None:
        raise ValueError(f"start_time {row['start_time']!r} is not a time (HH:MM or 7pm)")
    if row.get("end_time") and end is None:
        raise ValueError(f"end_time {row['end_time']!r} is not a time (HH:MM or 7pm)")
    costs = []
    for column, option in (("cost", "Standard"), ("carer_cost", "Carer")):
        if row.get(column):
            amount = 0.0 if row[column].lower() == "free" else _number(row[column])
            if amount is None or amount < 0:
                raise ValueError(f"{column} {row[column]!r} is not an amount (a number or 'free')")
            costs.append(CostOption(option=option, amount=amount))
    gender = row.get("gender", "").lower()
    if gender not in ("", "any", "female", "male"):
        raise ValueError(f"gender {row['gender']!r} is not any, female or male")
    types = [t.strip() for t in row.get("activity", "").split(";") if t.strip()]
    access_text = row.get("accessibility", "")
    return Activity(
        id=f"{source}:{row['id']}",
        name=row["name"],
        description=row.get("description", ""),
        activity_types=activity_types(types, row["name"]),
        organisation=row.get("organisation", ""),
        location=Location(
            name=row.get("venue", ""),
            address=row.get("address", ""),
            town=row.get("town", ""),
            postcode=row.get("postcode", ""),
            latitude=_point(row.get("latitude"), row.get("longitude"))[0],
            longitude=_point(row.get("latitude"), row.get("longitude"))[1],
        ),
        schedules=[Schedule(days=days, start_time=start, end_time=end, frequency="weekly")] if days or start else [],
        costs=costs,
        free=(costs[0].amount == 0) if costs and costs[0].option == "Standard" else None,
        carer_free=any(c.option == "Carer" and c.amount == 0 for c in costs) or None,
        min_age=_age(row.get("min_age")),
        max_age=_age(row.get("max_age")),
        gender=gender if gender in ("female", "male") else "any",  # type: ignore[arg-type]
        level=level_of(row.get("level", "")),
        accessibility=sorted(set(accessibility_tags(access_text))),
        accessibility_notes=access_text,
        eligibility=row.get("eligibility", ""),
        contact=row.get("contact", ""),
        booking=row.get("booking", ""),
        source=source,
        source_id=row["id"],
        last_modified=row.get("last_modified") or None,
    )


def import_plain_csv(path: Path) -> ImportResult:
    rows = _read_csv(path)
    result = ImportResult(format="csv")
    header = set(rows[0]) if rows else set()
    if rows and not {"id", "name"} <= header:
        raise FeedError(
            f"{path}: a plain CSV needs at least the columns id and name; columns: {', '.join(PLAIN_COLUMNS)}"
        )
    for index, row in enumerate(rows):
        try:
            result.add(plain_row(row, f"csv:{path.name}"), row.get("id") or f"row {index + 2}")
        except (ValueError, ValidationError) as exc:
            result.reject(row.get("id") or f"row {index + 2}", _reason(exc))
    return result


def import_csv(path: Path, today: date | None = None) -> ImportResult:
    return import_oruk_csv(path, today) if is_oruk_csv(path) else import_plain_csv(path)


# ── choosing the importer ──────────────────────────────────────────────────


def detect_format(path: Path) -> Format:
    if path.is_dir():
        if (path / "services.csv").exists():
            return "oruk"
        raise FeedError(f"{path}: a folder without services.csv; give the feed files themselves")
    if path.suffix.lower() == ".csv":
        return "oruk" if is_oruk_csv(path) else "csv"
    data = read_json(path)
    if isinstance(data, dict) and (isinstance(data.get("items"), list) or "@context" in data):
        return "openactive"
    return "oruk"


IMPORTERS: dict[str, Callable[[Path, date | None], ImportResult]] = {
    "oruk": import_oruk,
    "openactive": import_openactive,
    "csv": import_csv,
}


def import_path(path: Path, fmt: Format = "auto", today: date | None = None) -> ImportResult:
    """One feed file or ORUK CSV folder; ``today`` (default: today in the UK) decides what has ended."""
    path = Path(path)
    if not path.exists():
        raise FeedError(f"{path}: no such file or folder")
    chosen = detect_format(path) if fmt == "auto" else fmt
    importer = IMPORTERS.get(chosen)
    if importer is None:
        raise FeedError(f"{path}: unknown format {chosen}; supported: {', '.join(IMPORTERS)}")
    return importer(path, today)


def import_paths(
    paths: Iterable[Path], fmt: Format = "auto", today: date | None = None
) -> list[tuple[Path, ImportResult]]:
    return [(path, import_path(path, fmt, today)) for path in paths]
