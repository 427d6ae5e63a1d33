"""Derive the gold answers of the signposting questions from the sample directory.

Each question in ``questions.yaml`` carries a structured ``constraints`` block (the
machine truth); its ``gold`` is every service in ``knowledge/sample-directory.json``
that meets all of them. Gold is derived here, never typed by hand::

    .venv/bin/python evals/data/signposting/derive_gold.py          # check: exit 1 if gold is stale
    .venv/bin/python evals/data/signposting/derive_gold.py --write  # rewrite gold and gold_names

Constraint keys (all optional; a missing key does not constrain):

- ``activities``: OpenActive prefLabels; a service matches if any of its activity terms is listed.
- ``towns``: the towns that count (``address.city``); ``near`` names the town the question is
  about, and then ``towns`` must be that town plus its ``nearby`` list in ``knowledge/towns.yaml``.
- ``days``: MO..SU; ``time_of_day``: morning (starts before 12:00), afternoon (12:00-16:59),
  evening (17:00 or later). Both must hold for the same schedule.
- ``accessibility``: canonical phrases that must all be present at the venue;
  ``accessibility_any``: at least one of them must be.
- ``free``: every non-carer cost option is 0. ``carer_free``: a "Carer" option costs 0, or the
  session is free.
- ``age``: minimum_age <= age <= maximum_age (no maximum: no upper limit).
- ``gender``: female | male: the session must be restricted to that gender ("Women only" /
  "Men only" in eligibility_description). ``person_gender``: female | male: the person's
  gender; excludes sessions restricted to the other one.
- ``level``: beginner | intermediate: excludes sessions stated for the other level
  ("Beginners welcome" / "Intermediate"); "All abilities" sessions suit both.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[2]
QUESTIONS = HERE / "questions.yaml"
DIRECTORY = ROOT / "knowledge" / "sample-directory.json"
TOWNS = ROOT / "knowledge" / "towns.yaml"
ACTIVITY_LIST = ROOT / "knowledge" / "vocab" / "activity-list.jsonld"

KINDS = ("plain", "semantic", "constrained", "near_duplicate", "unanswerable")
DAY_CODES = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
PERIODS = ("morning", "afternoon", "evening")
ACCESSIBILITY = ("Pool hoist", "Pool Pod", "Changing Places toilet", "Hearing loop", "Step-free access",
                 "Accessible parking", "Wheelchair accessible", "Accessible changing rooms")
CONSTRAINT_KEYS = {"activities", "near", "towns", "days", "time_of_day", "accessibility", "accessibility_any",
                   "free", "carer_free", "age", "gender", "person_gender", "level"}
HEADER = """\
# Signposting eval questions over the sample directory (knowledge/sample-directory.json).
# `constraints` is the machine truth; `gold` (service ids) and `gold_names` are DERIVED from it by
# evals/data/signposting/derive_gold.py --write: edit a question or its constraints, then re-run it.
# Constraint meanings are documented at the top of derive_gold.py; towns and their `nearby`
# lists come from knowledge/towns.yaml. kind: plain | semantic | constrained | near_duplicate |
# unanswerable; near-duplicate questions share a `pair` with the question differing in one constraint.
"""


class GoldError(ValueError):
    """A question or its constraints is malformed; the message says which and how to fix it."""


# ── reading ─────────────────────────────────────────────────────────────────


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def load_services(path: Path = DIRECTORY) -> list[dict[str, Any]]:
    services: list[dict[str, Any]] = json.loads(path.read_text(encoding="utf-8"))["contents"]
    return services


def load_towns(path: Path = TOWNS) -> dict[str, dict[str, Any]]:
    towns: dict[str, dict[str, Any]] = load_yaml(path)["towns"]
    return towns


def load_labels(path: Path = ACTIVITY_LIST) -> set[str]:
    return {c["prefLabel"] for c in json.loads(path.read_text(encoding="utf-8"))["concept"]}


# ── one service's facts ─────────────────────────────────────────────────────


def period_of(opens_at: str) -> str:
    hour = int(opens_at.split(":")[0])
    return "morning" if hour < 12 else "afternoon" if hour < 17 else "evening"


def labels_of(service: dict[str, Any]) -> set[str]:
    return {a["taxonomy_term"]["name"] for a in service.get("attributes") or []}


def town_of(service: dict[str, Any]) -> str:
    city: str = service["service_at_locations"][0]["location"]["addresses"][0]["city"]
    return city


def access_of(service: dict[str, Any]) -> set[str]:
    return {a["description"] for sal in service["service_at_locations"] for a in sal["location"]["accessibility"]}


def is_free(service: dict[str, Any]) -> bool:
    amounts = [c["amount"] for c in service["cost_options"] if c["option"] != "Carer"]
    return bool(amounts) and all(a == 0 for a in amounts)


def is_carer_free(service: dict[str, Any]) -> bool:
    return is_free(service) or any(c["option"] == "Carer" and c["amount"] == 0 for c in service["cost_options"])


def gender_of(service: dict[str, Any]) -> str:
    text = service.get("eligibility_description", "")
    return "female" if "Women only" in text else "male" if "Men only" in text else "any"


def level_of(service: dict[str, Any]) -> str:
    text = service.get("eligibility_description", "")
    return "beginner" if "Beginners welcome" in text else "intermediate" if "Intermediate" in text else "all"


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def meets(service: dict[str, Any], c: dict[str, Any]) -> bool:
    """Whether one service meets every constraint in ``c``."""
    if "activities" in c and not labels_of(service) & set(c["activities"]):
        return False
    if "towns" in c and town_of(service) not in c["towns"]:
        return False
    days, periods = set(c.get("days") or DAY_CODES), set(_as_list(c.get("time_of_day") or list(PERIODS)))
    if not any(set(s["byday"].split(",")) & days and period_of(s["opens_at"]) in periods for s in service["schedules"]):
        return False
    access = access_of(service)
    if not set(c.get("accessibility") or []) <= access:
        return False
    if c.get("accessibility_any") and not set(c["accessibility_any"]) & access:
        return False
    if c.get("free") and not is_free(service):
        return False
    if c.get("carer_free") and not is_carer_free(service):
        return False
    if "age" in c:
        low, high = service.get("minimum_age", 0), service.get("maximum_age")
        if c["age"] < low or (high is not None and c["age"] > high):
            return False
    if "gender" in c and gender_of(service) != c["gender"]:
        return False
    if "person_gender" in c and gender_of(service) not in ("any", c["person_gender"]):
        return False
    return not ("level" in c and level_of(service) not in ("all", c["level"]))


# ── checking and deriving ───────────────────────────────────────────────────


def validate(question: dict[str, Any], towns: dict[str, dict[str, Any]], labels: set[str]) -> None:
    qid = question.get("id", "?")
    for key in ("id", "question", "kind", "constraints"):
        if key not in question:
            raise GoldError(f"question {qid}: missing {key!r}")
    if question["kind"] not in KINDS:
        raise GoldError(f"question {qid}: kind {question['kind']!r} is not one of {KINDS}")
    c = question["constraints"]
    unknown = set(c) - CONSTRAINT_KEYS
    if unknown:
        raise GoldError(f"question {qid}: unknown constraint keys {sorted(unknown)}; use {sorted(CONSTRAINT_KEYS)}")
    for label in c.get("activities", []):
        if label not in labels:
            raise GoldError(f"question {qid}: {label!r} is not an OpenActive prefLabel")
    for town in c.get("towns", []):
        if town not in towns:
            raise GoldError(f"question {qid}: unknown town {town!r}; add it to knowledge/towns.yaml")
    if "near" in c:
        expected = {c["near"], *towns[c["near"]]["nearby"]}
        if set(c.get("towns", [])) != expected:
            raise GoldError(f"question {qid}: near {c['near']!r} needs towns {sorted(expected)}")
    bad_days = set(c.get("days", [])) - set(DAY_CODES)
    bad_periods = set(_as_list(c.get("time_of_day", []))) - set(PERIODS)
    bad_access = (set(c.get("accessibility", [])) | set(c.get("accessibility_any", []))) - set(ACCESSIBILITY)
    if bad_days or bad_periods or bad_access:
        raise GoldError(f"question {qid}: unknown values {sorted(bad_days | bad_periods | bad_access)}")


def derive(questions: list[dict[str, Any]], services: list[dict[str, Any]], towns: dict[str, dict[str, Any]],
           labels: set[str]) -> list[list[str]]:
    """The gold ids for each question, in directory order; checks kinds against answers."""
    ids = [q["id"] for q in questions]
    if len(set(ids)) != len(ids):
        raise GoldError("question ids are not unique")
    golds = []
    for question in questions:
        validate(question, towns, labels)
        gold = [s["id"] for s in services if meets(s, question["constraints"])]
        if (question["kind"] == "unanswerable") != (not gold):
            raise GoldError(f"question {question['id']} is {question['kind']} but has {len(gold)} gold services; "
                            "change its constraints or its kind")
        golds.append(gold)
    return golds


def write(path: Path, document: dict[str, Any]) -> None:
    text = yaml.safe_dump(document, sort_keys=False, allow_unicode=True, width=110, default_flow_style=None)
    path.write_text(HEADER + text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", action="store_true", help="rewrite gold and gold_names in questions.yaml")
    args = parser.parse_args(argv)
    document = load_yaml(QUESTIONS)
    services = load_services()
    names = {s["id"]: s["name"] for s in services}
    try:
        golds = derive(document["questions"], services, load_towns(), load_labels())
    except GoldError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    stale = [q["id"] for q, gold in zip(document["questions"], golds, strict=True) if q.get("gold") != gold]
    if args.write:
        for question, gold in zip(document["questions"], golds, strict=True):
            question["gold"] = gold
            question["gold_names"] = [names[i] for i in gold]
        write(QUESTIONS, document)
        print(f"wrote gold for {len(golds)} questions ({len(stale)} changed) to {QUESTIONS}")
        return 0
    if stale:
        print(f"stale gold in {len(stale)} questions: {', '.join(stale)}; run with --write", file=sys.stderr)
        return 1
    print(f"gold is current for {len(golds)} questions")
    return 0


if __name__ == "__main__":
    sys.exit(main())
