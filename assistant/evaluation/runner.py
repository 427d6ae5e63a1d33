"""The runner behind ``reconnect eval run SUITE [--compare A,B] [--out DIR] [--json]``.

A suite is a YAML file in ``evals/`` whose ``kind:`` says what it evaluates:

* ``drafting`` — prompt versions of a note template × one provider (``offline`` drafter,
  ``scripted`` replies recorded in ``evals/data/``, or the ``configured`` chat model) × the
  golden OT cases, scored by :mod:`assistant.evaluation.drafting` and gated by thresholds;
* ``pii``, ``aci``, ``retrieval`` — handed to the module of that name
  (``assistant.evaluation.<kind>.run(path)`` and ``render(report)``).

Every run writes ``results.json`` and ``report.html`` (inline SVG plots, no scripts) to
``--out`` if given, and always keeps a copy under ``RECONNECT_HOME/eval-runs/<suite>/`` so
the report can plot trends across runs. ``passed`` is False when any version misses any
threshold; the summary names which.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from assistant.errors import BadInput, ReconnectError
from assistant.evaluation.drafting import METRICS, TABLE_METRICS, CaseScore, aggregate, error_score, score_draft
from assistant.evaluation.golden import GoldenCase, load_cases
from assistant.templates import PROMPTS_DIR, Template, all_templates

__all__ = [
    "CANDIDATES_DIR",
    "KINDS",
    "Check",
    "DraftingSuite",
    "KindReport",
    "SuiteRun",
    "kept_runs",
    "load_drafting_suite",
    "resolve_version",
    "run_suite",
]

KINDS = ("drafting", "pii", "aci", "retrieval")
CANDIDATES_DIR = PROMPTS_DIR / "candidates"
RUNS_FOLDER = "eval-runs"
TREND_RUNS = 12

T = TypeVar("T", bound=BaseModel)


# ── the suite file ──────────────────────────────────────────────────────────


class DraftingSuite(BaseModel):
    """``kind: drafting``: what to draft, with what, against which cases, and the bar to pass."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["drafting"]
    name: str = Field(min_length=1)
    description: str = ""
    cases: str = Field(default="data/ot", description="folder of golden cases, relative to the suite file")
    only: list[str] | None = Field(default=None, description="case ids to run (default: all)")
    template: str = "ot_initial_assessment"
    versions: dict[str, str] = Field(
        default_factory=dict, description="name -> template version; 'vN' means version N when not listed"
    )
    compare: list[str] = Field(default_factory=lambda: ["v1"], min_length=1)
    provider: Literal["offline", "scripted", "configured"] = "offline"
    replies: str | None = Field(default=None, description="scripted: folder of <version>/<case>.json replies")
    required_sections: list[str] = Field(default_factory=list, description="default: the live template's sections")
    thresholds: dict[str, float] = Field(default_factory=dict)

    @field_validator("thresholds")
    @classmethod
    def _known_metrics(cls, thresholds: dict[str, float]) -> dict[str, float]:
        for key in thresholds:
            _threshold_rule(key)
        return thresholds


def _threshold_rule(key: str) -> tuple[str, str]:
    """'fact_recall_min' -> ('fact_recall', '>='); 'false_facts' -> ('false_facts', '<=') by the metric's direction."""
    for suffix, op in (("_min", ">="), ("_max", "<=")):
        if key.endswith(suffix) and key[: -len(suffix)] in METRICS:
            return key[: -len(suffix)], op
    if key in METRICS:
        return key, ">=" if METRICS[key].better == "higher" else "<="
    raise ValueError(f"unknown threshold {key!r}; use a metric ({', '.join(METRICS)}), optionally with _min or _max")


def _read_yaml(path: Path) -> dict[str, Any]:
    if not path.is_file():
        raise BadInput(f"suite {path} not found: pass a suite YAML such as evals/golden.yaml")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as error:
        where = getattr(error, "problem_mark", None)
        line = f" (line {where.line + 1})" if where is not None else ""
        raise BadInput(f"{path}: not valid YAML{line}; fix the indentation or quoting there") from None
    except (OSError, UnicodeDecodeError) as error:
        raise BadInput(f"{path}: cannot read the suite ({error})") from None
    if not isinstance(raw, dict):
        raise BadInput(f"{path}: a suite must be a YAML mapping with kind:, name:, ...")
    return raw


def _validate(model: type[T], raw: dict[str, Any], path: Path) -> T:
    try:
        return model.model_validate(raw)
    except ValidationError as error:
        details = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg'].removeprefix('Value error, ')}"
            for e in error.errors()
        )
        raise BadInput(f"{path}: {details}") from None


def load_drafting_suite(path: Path | str) -> DraftingSuite:
    path = Path(path)
    return _validate(DraftingSuite, _read_yaml(path), path)


def resolve_version(template_id: str, name: str, versions: dict[str, str] | None = None) -> Template:
    """The template at the version a suite calls ``name``, from ``prompts/`` (live) or ``prompts/candidates/``."""
    version = (versions or {}).get(name) or (name[1:] if re.fullmatch(r"v\d+(?:\.\d+)*", name) else name)
    key = f"{template_id}@{version}"
    found: dict[str, Template] = {}
    for folder in (PROMPTS_DIR, CANDIDATES_DIR):
        if folder.is_dir():
            found |= {k: t for k, t in all_templates(folder).items() if "@" in k}
    if key not in found:
        known = sorted(k.split("@", 1)[1] for k in found if k.startswith(f"{template_id}@"))
        raise BadInput(
            f"no version {name!r} of template {template_id!r} (looked for {key} in prompts/ and prompts/candidates/); "
            f"versions there: {', '.join(known) or 'none'}"
        )
    return found[key]


# ── results ─────────────────────────────────────────────────────────────────


@dataclass
class Check:
    version: str
    metric: str
    op: str
    threshold: float
    value: float | None
    detail: str = ""

    @property
    def ok(self) -> bool:
        if self.value is None:
            return False
        return self.value >= self.threshold if self.op == ">=" else self.value <= self.threshold

    def line(self) -> str:
        """'sections_present 94% < 100% (missing: risk)' for a failure, 'fact_recall 46% >= 40%' otherwise."""
        metric = METRICS[self.metric]
        relation = self.op if self.ok else ("<" if self.op == ">=" else ">")
        text = f"{self.metric} {metric.show(self.value)} {relation} {metric.show(self.threshold)}"
        return text + (f" ({self.detail})" if self.detail and not self.ok else "")

    def as_json(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "metric": self.metric,
            "op": self.op,
            "threshold": self.threshold,
            "value": self.value,
            "ok": self.ok,
            "detail": self.detail,
        }


@dataclass
class VersionResult:
    name: str
    template_version: str
    scores: list[CaseScore]
    metrics: dict[str, float | None]
    checks: list[Check] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(c.ok for c in self.checks)


@dataclass
class SuiteRun:
    """A drafting suite's run: per version, per case, the checks, and where it was written."""

    suite: DraftingSuite
    path: Path
    started: str
    cases: list[str]
    versions: list[VersionResult]
    files: dict[str, str] = field(default_factory=dict)
    trend: list[dict[str, Any]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(v.passed for v in self.versions)

    @property
    def failures(self) -> list[Check]:
        return [c for v in self.versions for c in v.checks if not c.ok]

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": "drafting",
            "suite": self.suite.name,
            "description": self.suite.description,
            "path": str(self.path),
            "started": self.started,
            "provider": self.suite.provider,
            "template": self.suite.template,
            "cases": self.cases,
            "passed": self.passed,
            "thresholds": self.suite.thresholds,
            "metrics": {
                name: {"label": m.label, "better": m.better, "percent": m.percent, "description": m.description}
                for name, m in METRICS.items()
            },
            "table": list(TABLE_METRICS),
            "versions": [
                {
                    "name": v.name,
                    "template_version": v.template_version,
                    "passed": v.passed,
                    "metrics": v.metrics,
                    "checks": [c.as_json() for c in v.checks],
                }
                for v in self.versions
            ],
            "per_case": [{**s.model_dump(), "metrics": s.metrics()} for v in self.versions for s in v.scores],
            "trend": self.trend,
            "files": self.files,
        }

    def summary(self) -> str:
        names = [v.name for v in self.versions]
        width = max(8, *(len(n) for n in names))
        columns = [METRICS[m] for m in TABLE_METRICS]
        header = f"{'version':<{width}}  " + "  ".join(f"{c.label:>{max(len(c.label), 7)}}" for c in columns)
        lines = [
            f"suite {self.suite.name} ({self.suite.kind}, provider {self.suite.provider}, "
            f"template {self.suite.template}): {len(self.cases)} cases",
            header,
            "-" * len(header),
        ]
        for v in self.versions:
            cells = "  ".join(f"{c.show(v.metrics.get(c.name)):>{max(len(c.label), 7)}}" for c in columns)
            lines.append(f"{v.name:<{width}}  {cells}")
        lines.append("")
        for v in self.versions:
            failed = [c for c in v.checks if not c.ok]
            if failed:
                lines.append(f"FAIL {v.name}: " + "; ".join(c.line() for c in failed))
            else:
                lines.append(f"PASS {v.name}: all {len(v.checks)} thresholds met")
        for name, where in self.files.items():
            lines.append(f"{name}: {where}")
        return "\n".join(lines)


@dataclass
class KindReport:
    """A suite of another kind (pii, aci, retrieval): that module's report behind the same three members."""

    kind: str
    name: str
    path: Path
    report: Any
    render: Callable[[Any], str]
    started: str
    files: dict[str, str] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        passed = getattr(self.report, "passed", None)
        if passed is None:
            checks = getattr(self.report, "checks", {}) or {}
            values = checks.values() if isinstance(checks, dict) else [getattr(c, "ok", c) for c in checks]
            return all(bool(v) for v in values)
        return bool(passed)

    def as_json(self) -> dict[str, Any]:
        body = self.report.model_dump(mode="json") if hasattr(self.report, "model_dump") else dict(self.report)
        return {
            "kind": self.kind,
            "suite": self.name,
            "path": str(self.path),
            "started": self.started,
            "passed": self.passed,
            **{k: v for k, v in body.items() if k not in {"kind", "passed"}},
            "files": self.files,
        }

    def summary(self) -> str:
        lines = [self.render(self.report), "", "PASS" if self.passed else "FAIL: a threshold failed (see above)"]
        lines += [f"{name}: {where}" for name, where in self.files.items()]
        return "\n".join(lines)


# ── drafting ────────────────────────────────────────────────────────────────


class _Recorder:
    """Wraps a chat model and keeps every payload sent, so the run can check none holds personal data."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.name: str = inner.name
        self.usage = inner.usage
        self.payloads: list[str] = []

    def structured(self, system: str, user: str, schema: type[T]) -> T:
        self.payloads.append(system + "\n" + user)
        result: T = self.inner.structured(system, user, schema)
        return result


def _select_cases(suite: DraftingSuite, base: Path) -> list[GoldenCase]:
    folder = (base / suite.cases).resolve()
    cases = load_cases(folder)
    if suite.only:
        by_id = {c.id: c for c in cases}
        unknown = [i for i in suite.only if i not in by_id]
        if unknown:
            raise BadInput(f"only: no case {', '.join(unknown)} in {folder}; ids there: {', '.join(by_id)}")
        cases = [by_id[i] for i in suite.only]
    return cases


def _scripted_reply(folder: Path, version: str, case: str) -> Any:
    for suffix in (".json", ".yaml"):
        path = folder / version / f"{case}{suffix}"
        if path.is_file():
            text = path.read_text(encoding="utf-8")
            try:
                return json.loads(text) if suffix == ".json" else yaml.safe_load(text)
            except (json.JSONDecodeError, yaml.YAMLError) as error:
                raise BadInput(f"{path}: recorded reply is not valid {suffix[1:].upper()} ({error})") from None
    raise BadInput(f"no recorded reply for version {version!r}, case {case!r}: add {folder / version / case}.json")


Drafted = tuple[Any, list[str], float]


def _drafter_for(suite: DraftingSuite, base: Path) -> Callable[[GoldenCase, Template, str], Drafted]:
    """A function drafting one case with one template version: (draft, payloads sent to a model, seconds).

    The seconds are the drafter's alone; redaction before a model call is not counted."""
    from assistant.drafting import ModelDrafter, OfflineDrafter
    from assistant.services import get_services

    services = get_services()
    if suite.provider == "offline":
        drafter = OfflineDrafter(services.embedder)
        drafter.embedder.embed(["warm up the embedder before timing"])

        def offline(case: GoldenCase, template: Template, version: str) -> Drafted:
            transcript = case.to_transcript()
            began = time.perf_counter()
            draft = drafter.draft(transcript, template)
            return draft, [], time.perf_counter() - began

        return offline

    if suite.provider == "scripted":
        from assistant.chat import ScriptedChat

        if not suite.replies:
            raise BadInput("provider: scripted needs replies: a folder of <version>/<case>.json recorded replies")
        folder = (base / suite.replies).resolve()

        def chat_for(case: GoldenCase, version: str) -> Any:
            from assistant.redaction import guard_egress

            known = case.known_identifiers()
            reply = _scripted_reply(folder, version, case.id)
            # The same last check a real model call gets: nothing identifying leaves, or the case fails.
            return ScriptedChat(
                name="scripted", replies=[reply], guard=lambda payload: guard_egress(services.redactor, payload, known)
            )

    else:

        def chat_for(case: GoldenCase, version: str) -> Any:
            chat = services.chat_model(case.known_identifiers())
            if chat is None:
                raise BadInput(
                    "provider: configured needs a chat model: set RECONNECT_PROVIDER (and the model, base URL, key)"
                )
            return chat

    def with_model(case: GoldenCase, template: Template, version: str) -> Drafted:
        known = case.known_identifiers()
        redacted, _ = services.redact_transcript(case.to_transcript(), known)
        chat = _Recorder(chat_for(case, version))
        began = time.perf_counter()
        try:
            draft = ModelDrafter(chat).draft(redacted, template)
        except ReconnectError as error:
            raise _CaseFailed(str(error), chat.payloads, time.perf_counter() - began) from error
        return draft, chat.payloads, time.perf_counter() - began

    return with_model


class _CaseFailed(Exception):
    def __init__(self, message: str, payloads: list[str], seconds: float) -> None:
        super().__init__(message)
        self.payloads = payloads
        self.seconds = seconds


def _checks(suite: DraftingSuite, result: VersionResult) -> list[Check]:
    checks = []
    for key, threshold in suite.thresholds.items():
        metric, op = _threshold_rule(key)
        check = Check(result.name, metric, op, float(threshold), result.metrics.get(metric))
        if not check.ok:
            check.detail = _failure_detail(metric, result.scores)
        checks.append(check)
    return checks


def _failure_detail(metric: str, scores: Sequence[CaseScore]) -> str:
    if metric in {"missing_sections", "sections_present"}:
        missing = sorted({m for s in scores for m in s.missing_sections})
        return f"missing: {', '.join(missing)}" if missing else ""
    if metric == "extra_sections":
        extra = sorted({m for s in scores for m in s.extra_sections})
        return f"not in the note: {', '.join(extra)}" if extra else ""
    if metric == "false_facts":
        return ", ".join(f"{s.case}: {f.fact}" for s in scores for f in s.false_facts)[:300]
    if metric == "unsupported_statements":
        counts = [f"{s.case} {len(s.unsupported)}" for s in scores if s.unsupported]
        return "in " + ", ".join(counts) if counts else ""
    if metric == "goals_name_activity":
        return "missed " + ", ".join(f"{s.case} {g.activity}" for s in scores for g in s.goals if not g.found)
    if metric == "schema_valid":
        return "; ".join(f"{s.case}: {s.error}" for s in scores if s.error)[:300]
    if metric == "pii_sent":
        return ", ".join(f"{s.case}: {len(s.pii_sent)}" for s in scores if s.pii_sent)
    if metric in {"fact_recall", "fact_in_section"}:
        worst = sorted(scores, key=lambda s: s.metrics()[metric] or 0.0)[:3]
        return "lowest " + ", ".join(f"{s.case} {METRICS[metric].show(s.metrics()[metric])}" for s in worst)
    return ""


def _run_drafting(suite: DraftingSuite, path: Path, compare: Sequence[str] | None) -> SuiteRun:
    names = list(dict.fromkeys(compare or suite.compare))
    templates = {name: resolve_version(suite.template, name, suite.versions) for name in names}
    required = suite.required_sections or [s.id for s in _live_template(suite.template).sections]
    cases = _select_cases(suite, path.parent)
    if suite.provider == "scripted" and suite.replies:  # fail before any drafting, not half way through
        folder = (path.parent / suite.replies).resolve()
        for name in names:
            for case in cases:
                if not any((folder / name / f"{case.id}{suffix}").is_file() for suffix in (".json", ".yaml")):
                    raise BadInput(
                        f"no recorded reply for version {name!r}, case {case.id!r}: add {folder / name / case.id}.json"
                    )
    draft_one = _drafter_for(suite, path.parent)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    results: list[VersionResult] = []
    for name in names:
        template = templates[name]
        scores: list[CaseScore] = []
        for case in cases:
            try:
                draft, payloads, seconds = draft_one(case, template, name)
            except _CaseFailed as failed:
                scores.append(
                    error_score(
                        case,
                        version=name,
                        provider=suite.provider,
                        error=str(failed),
                        seconds=failed.seconds,
                        payloads=failed.payloads,
                    )
                )
                continue
            scores.append(
                score_draft(
                    case,
                    draft,
                    version=name,
                    provider=suite.provider,
                    required_sections=required,
                    seconds=seconds,
                    payloads=payloads,
                )
            )
        result = VersionResult(name=name, template_version=template.version, scores=scores, metrics=aggregate(scores))
        result.checks = _checks(suite, result)
        results.append(result)
    return SuiteRun(suite=suite, path=path, started=started, cases=[c.id for c in cases], versions=results)


def _live_template(template_id: str) -> Template:
    live = all_templates(PROMPTS_DIR).get(template_id)
    if live is None:
        raise BadInput(f"no live template {template_id!r} in prompts/; name one in the suite's template:")
    return live


# ── writing and trends ──────────────────────────────────────────────────────


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "suite"


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
        os.chmod(temp, 0o644)
        os.replace(temp, path)
    except BaseException:
        Path(temp).unlink(missing_ok=True)
        raise


def _runs_dir(suite_name: str) -> Path:
    from assistant.settings import get_settings

    return get_settings().home / RUNS_FOLDER / _slug(suite_name)


def kept_runs(suite_name: str | None = None) -> list[Path]:
    """Every kept ``results.json`` under ``RECONNECT_HOME/eval-runs/`` (one suite's, or all), oldest first.

    The evaluator's page lists these and shows a run with ``report.render_html(json.load(...))``."""
    from assistant.settings import get_settings

    root = get_settings().home / RUNS_FOLDER
    pattern = f"{_slug(suite_name)}/*/results.json" if suite_name else "*/*/results.json"
    return sorted(root.glob(pattern), key=lambda p: (p.parent.name, p.parent.parent.name))


def _trend(runs: Path) -> list[dict[str, Any]]:
    """Earlier runs of this suite, oldest first: per version, its metrics."""
    points: list[dict[str, Any]] = []
    for results in sorted(runs.glob("*/results.json"))[-TREND_RUNS:]:
        try:
            data = json.loads(results.read_text(encoding="utf-8"))
            points.append(
                {
                    "started": data["started"],
                    "versions": {v["name"]: v["metrics"] for v in data.get("versions", [])},
                }
            )
        except (OSError, ValueError, KeyError, TypeError):
            continue  # a damaged old run does not stop this one
    return points


def _save(run: SuiteRun | KindReport, name: str, out_dir: Path | None, html: Callable[[dict[str, Any]], str]) -> None:
    stamp = run.started.replace(":", "").replace("-", "").replace("+0000", "Z").replace("+00:00", "Z")
    kept = _runs_dir(name) / stamp
    targets = ([out_dir] if out_dir is not None else []) + [kept]  # --out first: if it fails, nothing is kept
    if out_dir is not None:
        run.files = {"results": str(out_dir / "results.json"), "report": str(out_dir / "report.html")}
    else:
        run.files = {"results": str(kept / "results.json"), "report": str(kept / "report.html")}
    data = run.as_json()
    body = json.dumps(data, indent=2, ensure_ascii=False, default=str)
    page = html(data)
    for folder in targets:
        try:
            _write_atomic(folder / "results.json", body)
            _write_atomic(folder / "report.html", page)
        except OSError as error:
            raise BadInput(f"cannot write results to {folder} ({error.strerror}); pick another --out") from None


# ── entry point ─────────────────────────────────────────────────────────────


def run_suite(
    path: Path | str, compare: Sequence[str] | None = None, out_dir: Path | None = None
) -> SuiteRun | KindReport:
    """Run the suite at ``path``; write results.json and report.html; return the run (check ``.passed``)."""
    from assistant.evaluation.report import render_html

    path = Path(path)
    raw = _read_yaml(path)
    kind = raw.get("kind")
    if kind not in KINDS:
        shown = "no kind:" if kind is None else f"kind {kind!r}"
        raise BadInput(f"{path}: {shown} is not a suite kind; use one of: {', '.join(KINDS)}")
    if compare is not None:
        compare = [c.strip() for c in compare if c.strip()]
        if not compare:
            raise BadInput("--compare needs version names, e.g. --compare v1,v2")
    if kind == "drafting":
        suite = _validate(DraftingSuite, raw, path)
        run = _run_drafting(suite, path, compare)
        run.trend = _trend(_runs_dir(suite.name))
        _save(run, suite.name, out_dir, render_html)
        return run
    if compare:
        raise BadInput(f"--compare compares prompt versions, so it applies to drafting suites; {path} is kind: {kind}")
    module = importlib.import_module(f"assistant.evaluation.{kind}")
    runner, render = getattr(module, "run", None), getattr(module, "render", None)
    if runner is None or render is None:
        raise BadInput(f"the {kind} eval has no run()/render() in assistant.evaluation.{kind} yet")
    name = str(raw.get("name") or path.stem)
    started = datetime.now(UTC).isoformat(timespec="seconds")
    report = KindReport(kind=str(kind), name=name, path=path, report=runner(path), render=render, started=started)
    _save(report, name, out_dir, render_html)
    return report
