"""PII eval: per-entity precision, recall and F2 for our redactor, side by side with Presidio's defaults.

Run ``python -m assistant.evaluation.pii [evals/pii.yaml] [--json] [--limit N]``.

Scoring is token-level (a token is a run of letters/digits or one punctuation mark;
it is predicted when any finding overlaps it), as in presidio-research:

* per entity: typed precision and recall (the predicted type must map to the gold type)
  and ``recall_any`` (redacted under any type: what matters for privacy);
* overall: label-agnostic (redacted or not) over the scored types;
* ``non_personal_redacted``: the share of non-whitespace characters outside every gold
  span that a finding covers.

Gold types that are not identifiers here (towns, organisations in general, titles,
ages, nationalities, ordinary dates) are left out of both numerator and denominator:
the product keeps them on purpose, and Presidio's defaults are not charged for them either.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, computed_field, field_validator

from assistant.errors import BadInput

Span = tuple[int, int, str]
Predictor = Callable[[str, Sequence[str]], list[Span]]

UK_DIRECT = ("PERSON", "PHONE", "EMAIL", "NHS_NUMBER", "POSTCODE", "ADDRESS", "DATE_OF_BIRTH", "NINO")

# presidio-research synth_dataset_v2 gold types -> the type we score them as (None: not scored).
SYNTH_GOLD: dict[str, str | None] = {
    "PERSON": "PERSON",
    "STREET_ADDRESS": "ADDRESS",
    "PHONE_NUMBER": "PHONE",
    "EMAIL_ADDRESS": "EMAIL",
    "CREDIT_CARD": "CARD_NUMBER",
    "IBAN_CODE": "BANK_ACCOUNT",
    "IP_ADDRESS": "IP_ADDRESS",
    "DOMAIN_NAME": "URL",
    "US_SSN": "ID_NUMBER",
    "ZIP_CODE": "POSTCODE",
    "US_DRIVER_LICENSE": "DRIVING_LICENCE",
    "GPE": None,
    "ORGANIZATION": None,
    "TITLE": None,
    "AGE": None,
    "NRP": None,
    "DATE_TIME": None,
}
# Presidio's own entity names -> ours, for the defaults run (a street address can only be LOCATION there).
PRESIDIO_TO_OURS: dict[str, str] = {
    "PERSON": "PERSON",
    "LOCATION": "ADDRESS",
    "PHONE_NUMBER": "PHONE",
    "EMAIL_ADDRESS": "EMAIL",
    "CREDIT_CARD": "CARD_NUMBER",
    "IBAN_CODE": "BANK_ACCOUNT",
    "IP_ADDRESS": "IP_ADDRESS",
    "URL": "URL",
    "US_SSN": "ID_NUMBER",
    "US_DRIVER_LICENSE": "DRIVING_LICENCE",
    "UK_NHS": "NHS_NUMBER",
}

_TOKEN = re.compile(r"[A-Za-z0-9]+|[^\sA-Za-z0-9]")
_MARKUP = re.compile(r"\{\{([A-Z_]+):(.+?)\}\}", re.DOTALL)


class Sample(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: str
    text: str
    spans: list[tuple[int, int, str]]  # start, end, scored type (None-typed gold spans as "IGNORE")
    known: list[str] = Field(default_factory=list)


class EntityScore(BaseModel):
    entity: str
    precision: float
    recall: float
    f2: float
    recall_any: float
    support: int


class SystemScore(BaseModel):
    system: str
    precision: float
    recall: float
    f2: float
    non_personal_redacted: float
    entities: list[EntityScore]
    direct_recall: float | None = None
    misses: list[str] = Field(default_factory=list)


class DatasetReport(BaseModel):
    dataset: str
    samples: int
    format: str = "transcripts"
    systems: list[SystemScore]
    note: str = ""


# Presidio's defaults as published by presidio-research with en_core_web_lg, printed for reference.
PUBLISHED_DEFAULTS = {"precision": 0.685, "recall": 0.603, "f2": 0.618}


class PiiReport(BaseModel):
    datasets: list[DatasetReport]
    checks: dict[str, bool] = Field(default_factory=dict)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def passed(self) -> bool:
        """Every threshold of the suite is met, and there was at least one to meet."""
        return bool(self.checks) and all(self.checks.values())


# ── loading ─────────────────────────────────────────────────────────────────


def parse_markup(marked: str) -> tuple[str, list[Span]]:
    """'{{PERSON:Hope}} lives' -> ('Hope lives', [(0, 4, 'PERSON')])."""
    pieces: list[str] = []
    spans: list[Span] = []
    cursor, length = 0, 0
    for m in _MARKUP.finditer(marked):
        before = marked[cursor : m.start()]
        pieces.append(before)
        length += len(before)
        pieces.append(m.group(2))
        spans.append((length, length + len(m.group(2)), m.group(1)))
        length += len(m.group(2))
        cursor = m.end()
    pieces.append(marked[cursor:])
    text = "".join(pieces)
    if "{{" in text or "}}" in text:
        raise BadInput("Unbalanced {{TYPE:text}} markup in a PII transcript: check the braces.")
    return text, spans


def load_transcripts(path: Path) -> list[Sample]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    samples = []
    for item in data["transcripts"]:
        text, spans = parse_markup(item["text"])
        samples.append(Sample(id=item["id"], text=text, spans=spans, known=item.get("known", [])))
    return samples


def load_synth(path: Path, limit: int | None = None) -> list[Sample]:
    if not path.exists():
        raise BadInput(f"{path} not found: point the suite at presidio-research's synth_dataset_v2.json.")
    rows = json.loads(path.read_text(encoding="utf-8"))[:limit]
    return [
        Sample(
            id=str(i),
            text=row["full_text"],
            spans=[
                (s["start_position"], s["end_position"], SYNTH_GOLD.get(s["entity_type"]) or "IGNORE")
                for s in row["spans"]
            ],
        )
        for i, row in enumerate(rows)
    ]


# ── scoring ─────────────────────────────────────────────────────────────────


def f_beta(precision: float, recall: float, beta: float = 2.0) -> float:
    if precision + recall == 0:
        return 0.0
    return (1 + beta**2) * precision * recall / (beta**2 * precision + recall)


def _label(start: int, end: int, spans: Sequence[Span]) -> str | None:
    for s, e, kind in spans:
        if start < e and end > s:
            return kind
    return None


def score(
    name: str, samples: Sequence[Sample], predictions: Sequence[list[Span]], direct: Sequence[str] = ()
) -> SystemScore:
    typed: Counter[tuple[str, str]] = Counter()  # (entity, tp|fp|fn|any)
    support: Counter[str] = Counter()
    tp = fp = fn = 0
    outside = outside_hit = 0
    direct_tp = direct_total = 0
    misses: list[str] = []
    for sample, predicted in zip(samples, predictions, strict=True):
        for m in _TOKEN.finditer(sample.text):
            gold = _label(m.start(), m.end(), sample.spans)
            pred = _label(m.start(), m.end(), predicted)
            if gold == "IGNORE":
                continue
            if gold is not None:
                support[gold] += 1
                typed[(gold, "any")] += pred is not None
                typed[(gold, "tp")] += pred == gold
                typed[(gold, "fn")] += pred != gold
                tp, fn = tp + (pred is not None), fn + (pred is None)
                if gold in direct:
                    direct_total += 1
                    direct_tp += pred is not None
                if pred is None and len(misses) < 40:
                    misses.append(f"{sample.id}: {gold} {m.group()!r}")
            elif pred is not None:
                fp += 1
            if pred is not None and pred != gold:
                typed[(pred, "fp")] += 1
        for i, ch in enumerate(sample.text):
            if not ch.isspace() and _label(i, i + 1, sample.spans) is None:
                outside += 1
                outside_hit += _label(i, i + 1, predicted) is not None
    entities = []
    for entity in sorted(support):
        p_den = typed[(entity, "tp")] + typed[(entity, "fp")]
        precision = typed[(entity, "tp")] / p_den if p_den else 0.0
        recall = typed[(entity, "tp")] / support[entity]
        entities.append(
            EntityScore(
                entity=entity,
                precision=round(precision, 3),
                recall=round(recall, 3),
                f2=round(f_beta(precision, recall), 3),
                recall_any=round(typed[(entity, "any")] / support[entity], 3),
                support=support[entity],
            )
        )
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return SystemScore(
        system=name,
        precision=round(precision, 3),
        recall=round(recall, 3),
        f2=round(f_beta(precision, recall), 3),
        non_personal_redacted=round(outside_hit / outside, 4) if outside else 0.0,
        entities=entities,
        direct_recall=round(direct_tp / direct_total, 3) if direct_total else None,
        misses=misses,
    )


# ── systems ─────────────────────────────────────────────────────────────────


def ours(redactor: Any) -> Predictor:
    def predict(text: str, known: Sequence[str]) -> list[Span]:
        return [(f.start, f.end, f.type) for f in redactor.find(text, known)]

    return predict


def presidio_defaults(nlp_engine: Any) -> Predictor:
    """Presidio's default AnalyzerEngine and registry, with our spaCy model passed in (no download)."""
    from presidio_analyzer import AnalyzerEngine

    analyzer = AnalyzerEngine(nlp_engine=nlp_engine, supported_languages=["en"])

    def predict(text: str, known: Sequence[str]) -> list[Span]:
        return [
            (r.start, r.end, PRESIDIO_TO_OURS.get(r.entity_type, r.entity_type))
            for r in analyzer.analyze(text=text, language="en")
        ]

    return predict


def run_system(name: str, predict: Predictor, samples: Sequence[Sample], use_known: bool) -> SystemScore:
    predictions = [predict(s.text, s.known if use_known else ()) for s in samples]
    return score(name, samples, predictions, direct=UK_DIRECT)


# ── the suite ───────────────────────────────────────────────────────────────


class DatasetSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    path: str
    format: str  # "transcripts" | "presidio-synth"
    compare_defaults: bool = False
    with_known: bool = True
    limit: int | None = None


# Every threshold a suite may set, with the values it may take. A key not listed here is a typo, not a check.
THRESHOLDS: dict[str, tuple[float, float, str]] = {
    "uk_direct_recall": (0.0, 1.0, "direct-identifier recall on each transcripts dataset, at least"),
    "uk_non_personal_redacted_max": (0.0, 1.0, "share of non-personal characters redacted on transcripts, at most"),
    "synth_recall_gain": (-1.0, 1.0, "recall over Presidio's defaults on each dataset compared with them, at least"),
}


class PiiSuite(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str = "pii"
    name: str = "pii"
    datasets: list[DatasetSpec]
    thresholds: dict[str, float] = Field(default_factory=dict)

    @field_validator("thresholds")
    @classmethod
    def _known_thresholds(cls, thresholds: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(thresholds) - set(THRESHOLDS))
        if unknown:
            raise ValueError(f"unknown threshold(s) {', '.join(unknown)}; use {', '.join(THRESHOLDS)}")
        for key, value in thresholds.items():
            low, high, _ = THRESHOLDS[key]
            if not low <= value <= high:
                raise ValueError(f"{key} is {value}: it must be between {low} and {high}, or it can never be met")
        return thresholds


def load_suite(path: Path) -> PiiSuite:
    if not path.exists():
        raise BadInput(f"Suite {path} not found: pass a suite YAML such as evals/pii.yaml.")
    try:
        suite = PiiSuite.model_validate(yaml.safe_load(path.read_text(encoding="utf-8")))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise BadInput(f"{path}: {where}: {first['msg'].removeprefix('Value error, ')}") from exc
    if not suite.thresholds:
        raise BadInput(f"{path}: no thresholds: a PII suite needs at least one of {', '.join(THRESHOLDS)}")
    for spec in suite.datasets:
        spec.path = str((path.parent / spec.path).resolve())
    return suite


def evaluate(suite: PiiSuite, redactor: Any = None, limit: int | None = None) -> PiiReport:
    """Run every dataset of the suite through our redactor (and Presidio's defaults where asked)."""
    from assistant.redaction import PresidioRedactor, build_nlp_engine
    from assistant.settings import Settings

    nlp_engine = build_nlp_engine()
    redactor = redactor or PresidioRedactor(Settings(), nlp_engine=nlp_engine)
    reports = []
    for spec in suite.datasets:
        path = Path(spec.path)
        if spec.format == "transcripts":
            samples = load_transcripts(path)[: limit or spec.limit]
        else:
            samples = load_synth(path, limit or spec.limit)
        systems = []
        if spec.format == "transcripts" and spec.with_known:
            systems.append(run_system("ours+known", ours(redactor), samples, use_known=True))
        systems.append(run_system("ours", ours(redactor), samples, use_known=False))
        if spec.compare_defaults:
            plain = build_nlp_engine(entities_only=False)  # the model as shipped, for a fair comparison
            systems.append(run_system("presidio-defaults", presidio_defaults(plain), samples, use_known=False))
        note = (
            "Token-level; GPE, ORGANIZATION, TITLE, AGE, NRP and DATE_TIME gold spans are not scored. "
            "The written-address, name-cue and phone-cue recognizers were developed while reading this "
            "set's misses: treat its figures as seen data, not a held-out test."
            if spec.format != "transcripts"
            else "Token-level; ORGANISATION is scored but is not a direct identifier. The last three "
            "transcripts were written after tuning, as a held-out check."
        )
        reports.append(
            DatasetReport(dataset=spec.name, samples=len(samples), format=spec.format, systems=systems, note=note)
        )
    return PiiReport(datasets=reports, checks=_checks(reports, suite.thresholds))


def _checks(reports: Sequence[DatasetReport], thresholds: dict[str, float]) -> dict[str, bool]:
    """One check per threshold and dataset it applies to; a threshold that applies to none fails."""
    checks: dict[str, bool] = {}
    used: set[str] = set()
    for report in reports:
        by_name = {s.system: s for s in report.systems}
        mine = by_name.get("ours+known") or by_name["ours"]
        if report.format == "transcripts":
            if "uk_direct_recall" in thresholds and mine.direct_recall is not None:
                used.add("uk_direct_recall")
                floor = thresholds["uk_direct_recall"]
                checks[f"{report.dataset}: direct recall >= {floor}"] = mine.direct_recall >= floor
            if "uk_non_personal_redacted_max" in thresholds:
                used.add("uk_non_personal_redacted_max")
                limit = thresholds["uk_non_personal_redacted_max"]
                checks[f"{report.dataset}: non-personal redacted <= {limit}"] = mine.non_personal_redacted <= limit
        if "presidio-defaults" in by_name and "synth_recall_gain" in thresholds:
            used.add("synth_recall_gain")
            base, ours_ = by_name["presidio-defaults"], by_name["ours"]
            gain = thresholds["synth_recall_gain"]
            checks[f"{report.dataset}: recall >= defaults + {gain}"] = ours_.recall >= base.recall + gain
            checks[f"{report.dataset}: precision >= defaults"] = ours_.precision >= base.precision
    for key in thresholds:
        if key not in used:
            checks[f"{key}: applies to no dataset of the suite ({THRESHOLDS[key][2]})"] = False
    return checks


def render(report: PiiReport) -> str:
    lines: list[str] = []
    for dataset in report.datasets:
        lines.append(f"\n== {dataset.dataset} ({dataset.samples} samples) ==  {dataset.note}")
        if any(s.system == "presidio-defaults" for s in dataset.systems):
            published = PUBLISHED_DEFAULTS
            lines.append(
                f"   (published presidio-research defaults with en_core_web_lg, their own scoring: "
                f"P {published['precision']:.3f}  R {published['recall']:.3f}  F2 {published['f2']:.3f})"
            )
        for system in dataset.systems:
            direct = f"  direct-identifier recall {system.direct_recall}" if system.direct_recall is not None else ""
            lines.append(
                f"-- {system.system}: P {system.precision:.3f}  R {system.recall:.3f}  F2 {system.f2:.3f}  "
                f"non-personal chars redacted {system.non_personal_redacted:.2%}{direct}"
            )
            lines.append(f"   {'entity':<16}{'P':>7}{'R':>7}{'F2':>7}{'R(any)':>8}{'n':>6}")
            for e in system.entities:
                figures = f"{e.precision:>7.3f}{e.recall:>7.3f}{e.f2:>7.3f}{e.recall_any:>8.3f}{e.support:>6}"
                lines.append(f"   {e.entity:<16}{figures}")
    lines.append("")
    lines += [f"{'PASS' if ok else 'FAIL'}  {name}" for name, ok in report.checks.items()]
    return "\n".join(lines)


def run(suite_path: Path, limit: int | None = None) -> PiiReport:
    """Load the suite at ``suite_path``, evaluate it and return the report (``.passed``, ``.checks``)."""
    return evaluate(load_suite(Path(suite_path)), limit=limit)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m assistant.evaluation.pii", description=__doc__.splitlines()[0])
    parser.add_argument("suite", nargs="?", default="evals/pii.yaml")
    parser.add_argument("--json", action="store_true", help="print one JSON document")
    parser.add_argument("--limit", type=int, default=None, help="score only the first N samples of each dataset")
    parser.add_argument("--misses", action="store_true", help="list missed gold tokens")
    args = parser.parse_args(argv)
    try:
        report = run(Path(args.suite), limit=args.limit)
    except BadInput as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if args.json:
        print(report.model_dump_json(indent=2))
    else:
        print(render(report))
        if args.misses:
            for dataset in report.datasets:
                for system in dataset.systems:
                    print(f"\n{dataset.dataset} / {system.system} misses:", *system.misses, sep="\n  ")
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
