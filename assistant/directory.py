"""Importing activity directories into :class:`Activity` records.

Open Referral UK 3.0 JSON (a single service, a paged list or an array) is read
here; each record is validated on its own, so one bad record is a reject with a
reason, never a failed import.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

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


def accessibility_tags(text: str) -> list[str]:
    lowered = text.lower()
    return [tag for tag, phrases in ACCESSIBILITY_TAGS.items() if any(p in lowered for p in phrases)]


@dataclass
class ImportResult:
    activities: list[Activity] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    rejected: list[dict[str, str]] = field(default_factory=list)
    format: str = ""

    def reject(self, record_id: str, reason: str) -> None:
        self.rejected.append({"id": record_id, "reason": reason})


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _time(value: Any) -> str | None:
    match = re.match(r"^(\d{1,2}):(\d{2})", _text(value))
    return f"{int(match.group(1)):02d}:{match.group(2)}" if match else None


def _coordinate(value: Any, limit: float) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if -limit <= number <= limit else None


def _days(byday: Any) -> list[str]:
    codes = [re.sub(r"^[+-]?\d+", "", d.strip().upper()) for d in _text(byday).split(",") if d.strip()]
    return [c for c in codes if c in DAY_CODES]


def oruk_service(raw: dict[str, Any], source: str) -> Activity:
    """One ORUK 3.0 service (with nested locations, schedules, costs, accessibility, attributes)."""
    if not isinstance(raw, dict):
        raise ValueError("not an object")
    service_id = _text(raw.get("id"))
    if not service_id:
        raise ValueError("missing id")
    name = _text(raw.get("name"))
    if not name:
        raise ValueError("missing name")
    if _text(raw.get("status")) in {"inactive", "defunct"}:
        raise ValueError(f"status is {raw['status']}")

    location = Location()
    access_texts: list[str] = []
    schedules_raw = list(raw.get("schedules") or [])
    for sal in raw.get("service_at_locations") or []:
        loc = (sal or {}).get("location") or {}
        addresses = loc.get("addresses") or []
        address = addresses[0] if addresses else {}
        if not location.name:
            location = Location(
                name=_text(loc.get("name")),
                address=", ".join(x for x in (_text(address.get("address_1")), _text(address.get("address_2"))) if x),
                town=_text(address.get("city")),
                postcode=_text(address.get("postal_code")),
                latitude=_coordinate(loc.get("latitude"), 90),
                longitude=_coordinate(loc.get("longitude"), 180),
            )
        for item in loc.get("accessibility") or []:
            access_texts += [
                _text(item.get("description")),
                _text(item.get("details")),
                _text(item.get("accessibility")),
            ]
        schedules_raw += list((sal or {}).get("schedules") or [])

    schedules = [
        Schedule(
            days=_days(s.get("byday")),
            start_time=_time(s.get("opens_at")),
            end_time=_time(s.get("closes_at")),
            frequency=_text(s.get("freq")).lower(),
            description=_text(s.get("description")),
        )
        for s in schedules_raw
        if isinstance(s, dict)
    ]
    costs: list[CostOption] = []
    for c in raw.get("cost_options") or []:
        amount = c.get("amount")
        costs.append(
            CostOption(
                option=_text(c.get("option")),
                amount=float(amount) if isinstance(amount, int | float) else None,
                description=_text(c.get("amount_description")),
            )
        )
    amounts = [c.amount for c in costs if c.amount is not None and "carer" not in c.option.lower()]
    free = (all(a == 0 for a in amounts) if amounts else None) if costs else None
    carer_options = [c for c in costs if "carer" in c.option.lower()]
    carer_free = any(c.amount == 0 for c in carer_options) if carer_options else None

    terms: list[str] = []
    for attribute in raw.get("attributes") or []:
        term = (attribute or {}).get("taxonomy_term") or {}
        label = _text(term.get("name")) or _text(term.get("term"))
        if label and label.lower() != "name":
            terms.append(label)
    eligibility = _text(raw.get("eligibility_description"))
    lowered = f"{eligibility} {_text(raw.get('description'))}".lower()
    gender: Literal["any", "female", "male"] = (
        "female" if "women only" in lowered or "ladies only" in lowered else "male" if "men only" in lowered else "any"
    )
    contacts = raw.get("contacts") or []
    contact = ", ".join(x for x in (_text(raw.get("email")), _text((contacts[0] if contacts else {}).get("name"))) if x)
    organisation = raw.get("organization") or {}
    return Activity(
        id=service_id,
        name=name,
        description=_text(raw.get("description")),
        activity_types=terms,
        organisation=_text(organisation.get("name")),
        location=location,
        schedules=schedules,
        costs=costs,
        free=free,
        carer_free=carer_free,
        min_age=raw.get("minimum_age") if isinstance(raw.get("minimum_age"), int) else None,
        max_age=raw.get("maximum_age") if isinstance(raw.get("maximum_age"), int) else None,
        gender=gender,
        level="beginner" if "beginner" in lowered else "",
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


def _oruk_records(data: Any) -> Iterator[Any]:
    if isinstance(data, list):
        yield from data
    elif isinstance(data, dict) and isinstance(data.get("contents"), list):
        yield from data["contents"]
    elif isinstance(data, dict):
        yield data
    else:
        raise FeedError("the file is JSON but neither an ORUK service, a paged list nor an array")


def read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise FeedError(f"{path}: no such file") from exc
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise FeedError(f"{path}: not valid JSON ({exc}); check the file is an ORUK or OpenActive feed") from exc


def import_oruk(path: Path) -> ImportResult:
    result = ImportResult(format="oruk")
    for index, raw in enumerate(_oruk_records(read_json(path))):
        record_id = str(raw.get("id", f"#{index}")) if isinstance(raw, dict) else f"#{index}"
        try:
            result.activities.append(oruk_service(raw, source=f"oruk:{path.name}"))
        except (ValueError, ValidationError, TypeError, AttributeError) as exc:
            result.reject(record_id, str(exc).splitlines()[0])
    return result


def detect_format(path: Path) -> Format:
    if path.suffix.lower() == ".csv":
        return "csv"
    data = read_json(path)
    first = next(iter(data.get("items", [])), None) if isinstance(data, dict) else None
    if isinstance(data, dict) and (("items" in data and "next" in data) or ("@context" in data and "oa" in str(data))):
        return "openactive"
    if first is not None:
        return "openactive"
    return "oruk"


IMPORTERS = {"oruk": import_oruk}


def import_path(path: Path, fmt: Format = "auto") -> ImportResult:
    chosen = detect_format(path) if fmt == "auto" else fmt
    importer = IMPORTERS.get(chosen)
    if importer is None:
        raise FeedError(f"{path}: the {chosen} importer is not available yet; supported: {', '.join(IMPORTERS)}")
    return importer(path)


def import_paths(paths: Iterable[Path], fmt: Format = "auto") -> list[tuple[Path, ImportResult]]:
    return [(path, import_path(path, fmt)) for path in paths]
