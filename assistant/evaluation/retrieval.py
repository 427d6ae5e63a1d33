"""Retrieval eval: signposting questions with gold ids over the sample directory.

    python -m assistant.evaluation.retrieval evals/signposting.yaml [--limit N] [--json]

Builds a throwaway index of the suite's directory, asks every question through the
real :class:`Signposter` (MiniLM + BM25 + hard constraints) and, for contrast, through
MiniLM alone, and reports hit@k, MRR, nDCG@k, the share of top-3 results that break
a stated constraint (per question kind too) and the share of unanswerable questions
answered with nothing. Constraint truth is the question's own ``constraints`` block,
checked on the raw directory record by ``derive_gold.meets`` (the rules that made the gold),
never by the retriever's own parser.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml
from pydantic import BaseModel, Field

from assistant.errors import BadInput


class SystemScore(BaseModel):
    system: str
    questions: int
    hit_at_k: float
    mrr: float
    ndcg_at_k: float
    violations_top3: float = Field(description="share of top-3 results that break a stated constraint")
    violating_results: int
    top3_results: int
    unanswerable_empty: float = Field(description="share of unanswerable questions answered with no results")
    by_kind: dict[str, dict[str, float]] = Field(default_factory=dict)
    p50_ms: float = 0.0


class QuestionResult(BaseModel):
    id: str
    kind: str
    question: str
    gold: list[str]
    returned: list[str]
    baseline: list[str]
    hit: bool
    violations: list[str] = Field(default_factory=list)
    answer: str = ""


class RetrievalReport(BaseModel):
    suite: str
    k: int
    activities: int
    system: SystemScore
    baseline: SystemScore
    checks: dict[str, bool]
    targets: dict[str, float]
    passed: bool
    questions: list[QuestionResult] = Field(default_factory=list)


def _load_module(name: str, path: Path) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise BadInput(f"{path}: cannot load the gold rules")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def _dcg(relevant: Sequence[bool]) -> float:
    return sum(1 / math.log2(r + 2) for r, rel in enumerate(relevant) if rel)


def score(
    name: str,
    rows: list[dict[str, Any]],
    returned: list[list[str]],
    violates: Callable[[dict[str, Any], str], bool],
    k: int,
    latencies: list[float],
) -> SystemScore:
    kinds: dict[str, dict[str, list[float]]] = {}

    def add(kind: str, key: str, value: float) -> None:
        kinds.setdefault(kind, {}).setdefault(key, []).append(value)

    hits: list[float] = []
    rrs: list[float] = []
    ndcgs: list[float] = []
    bad = total = 0
    empty_unanswerable: list[float] = []
    for row, ids in zip(rows, returned, strict=True):
        gold = set(row["gold"])
        top = ids[:k]
        kind = row["kind"]
        if gold:
            hit = float(any(i in gold for i in top))
            rr = next((1 / (r + 1) for r, i in enumerate(top) if i in gold), 0.0)
            ideal = _dcg([True] * min(len(gold), k))
            nd = _dcg([i in gold for i in top]) / ideal
            hits.append(hit)
            rrs.append(rr)
            ndcgs.append(nd)
            add(kind, "hit_at_k", hit)
            add(kind, "mrr", rr)
            add(kind, "ndcg_at_k", nd)
        else:
            empty_unanswerable.append(float(not ids))
            add(kind, "empty", float(not ids))
        for i in ids[:3]:
            v = float(violates(row, i))
            bad += int(v)
            total += 1
            add(kind, "violations_top3", v)

    def mean(xs: Sequence[float]) -> float:
        return round(sum(xs) / len(xs), 4) if xs else 0.0

    latencies = sorted(latencies)
    return SystemScore(
        system=name,
        questions=len(rows),
        hit_at_k=mean(hits),
        mrr=mean(rrs),
        ndcg_at_k=mean(ndcgs),
        violations_top3=round(bad / total, 4) if total else 0.0,
        violating_results=bad,
        top3_results=total,
        unanswerable_empty=mean(empty_unanswerable),
        by_kind={kind: {key: mean(vals) for key, vals in d.items()} for kind, d in sorted(kinds.items())},
        p50_ms=round(latencies[len(latencies) // 2] * 1000, 1) if latencies else 0.0,
    )


SUITE_KEYS = {"kind", "name", "questions", "gold_rules", "k", "targets"}
# Every target a suite may set and its default: a misspelt key is an error, never a silent default.
TARGETS: dict[str, float] = {"hit_at_k": 0.95, "violations_top3_max": 0.05, "unanswerable_empty": 0.90}


def _targets(suite_path: Path, suite: dict[str, Any]) -> dict[str, float]:
    """The suite's targets over the defaults; unknown suite keys or target names, or a value that is not
    a share between 0 and 1, are a clear error before anything is built."""
    unknown = sorted(set(suite) - SUITE_KEYS)
    if unknown:
        keys = ", ".join(sorted(SUITE_KEYS))
        raise BadInput(f"{suite_path}: unknown key(s) {', '.join(unknown)}; a retrieval suite has {keys}")
    given = suite.get("targets") or {}
    if not isinstance(given, dict):
        raise BadInput(f"{suite_path}: targets must be a mapping of {', '.join(TARGETS)}")
    wrong = sorted(set(given) - set(TARGETS))
    if wrong:
        raise BadInput(f"{suite_path}: unknown target(s) {', '.join(wrong)}; use {', '.join(TARGETS)}")
    targets = dict(TARGETS)
    for key, value in given.items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise BadInput(f"{suite_path}: target {key} is {value!r}, not a number") from None
        if not 0.0 <= number <= 1.0:
            raise BadInput(f"{suite_path}: target {key} is {number}: it must be a share between 0 and 1")
        targets[key] = number
    return targets


def run(suite_path: Path, limit: int | None = None) -> RetrievalReport:
    """Run a ``kind: retrieval`` suite; paths in the suite are relative to the suite file."""
    suite_path = Path(suite_path)
    if not suite_path.exists():
        raise BadInput(f"{suite_path}: no such suite file")
    suite = yaml.safe_load(suite_path.read_text(encoding="utf-8")) or {}
    if suite.get("kind") != "retrieval":
        raise BadInput(f"{suite_path}: kind is {suite.get('kind')!r}, expected 'retrieval'")
    targets = _targets(suite_path, suite)
    base = suite_path.resolve().parent
    questions_path = (base / suite["questions"]).resolve()
    data = yaml.safe_load(questions_path.read_text(encoding="utf-8"))
    root = questions_path.parent
    for _ in range(5):  # the question file names the directory relative to the repository root
        if (root / data["directory"]).exists():
            break
        root = root.parent
    directory = root / data["directory"]
    towns_path = root / data["towns"]
    rules = _load_module("derive_gold", (base / suite["gold_rules"]).resolve())
    k = int(suite.get("k", 5))
    rows: list[dict[str, Any]] = data["questions"][:limit] if limit else data["questions"]

    raw = {s["id"]: s for s in rules.load_services(directory)}

    def violates(row: dict[str, Any], service_id: str) -> bool:
        constraints = {key: v for key, v in row["constraints"].items() if key not in ("activities", "near")}
        service = raw.get(service_id)
        return service is None or not rules.meets(service, constraints)

    from assistant.directory import import_path
    from assistant.embedding import shared_embedder
    from assistant.signposting import ActivityIndex, Signposter, load_towns, register

    register()
    with tempfile.TemporaryDirectory(prefix="reconnect-eval-") as tmp:
        index = ActivityIndex(Path(tmp) / "index", shared_embedder(), towns=load_towns(towns_path))
        imported = import_path(directory, "oruk")
        index.upsert(imported.activities)
        signposter = Signposter(index)
        system_ids: list[list[str]] = []
        baseline_ids: list[list[str]] = []
        system_ms: list[float] = []
        baseline_ms: list[float] = []
        results: list[QuestionResult] = []
        for row in rows:
            started = time.perf_counter()
            answer, _ = signposter.ask(row["question"], k)
            system_ms.append(time.perf_counter() - started)
            started = time.perf_counter()
            dense = [a.source_id or a.id for a, _ in index.dense(row["question"], k)]
            baseline_ms.append(time.perf_counter() - started)
            ids = [m.id for m in answer.results]
            system_ids.append(ids)
            baseline_ids.append(dense)
            results.append(
                QuestionResult(
                    id=row["id"],
                    kind=row["kind"],
                    question=row["question"],
                    gold=row["gold"],
                    returned=ids,
                    baseline=dense,
                    hit=bool(set(ids) & set(row["gold"])) if row["gold"] else not ids,
                    violations=[i for i in ids[:3] if violates(row, i)],
                    answer=answer.answer,
                )
            )
        count = index.count()
    system = score("hybrid + constraints", rows, system_ids, violates, k, system_ms)
    baseline = score("dense MiniLM only", rows, baseline_ids, violates, k, baseline_ms)
    checks = {
        "hit_at_k": system.hit_at_k >= targets["hit_at_k"],
        "violations_top3": system.violations_top3 <= targets["violations_top3_max"],
        "unanswerable_empty": system.unanswerable_empty >= targets["unanswerable_empty"],
    }
    return RetrievalReport(
        suite=str(suite.get("name", suite_path.stem)),
        k=k,
        activities=count,
        system=system,
        baseline=baseline,
        checks=checks,
        targets=targets,
        passed=bool(checks) and all(checks.values()),
        questions=results,
    )


def render(report: RetrievalReport) -> str:
    k = report.k
    lines = [
        f"suite {report.suite}: {len(report.questions)} questions over {report.activities} activities, k={k}",
        "",
        f"| system | hit@{k} | MRR | nDCG@{k} | violations in top 3 | unanswerable → nothing | p50 ms |",
        "|---|---|---|---|---|---|---|",
    ]
    for s in (report.system, report.baseline):
        lines.append(
            f"| {s.system} | {s.hit_at_k:.3f} | {s.mrr:.3f} | {s.ndcg_at_k:.3f} | "
            f"{s.violations_top3:.1%} ({s.violating_results}/{s.top3_results}) | {s.unanswerable_empty:.0%} | "
            f"{s.p50_ms:.0f} |"
        )
    lines += [
        "",
        f"| kind | system hit@{k} | system nDCG@{k} | system viol. top 3 | baseline hit@{k} | baseline viol. top 3 |",
        "|---|---|---|---|---|---|",
    ]
    for kind, d in report.system.by_kind.items():
        b = report.baseline.by_kind.get(kind, {})
        hit = f"{d['hit_at_k']:.3f}" if "hit_at_k" in d else f"empty {d.get('empty', 0):.0%}"
        bhit = f"{b['hit_at_k']:.3f}" if "hit_at_k" in b else f"empty {b.get('empty', 0):.0%}"
        nd = f"{d['ndcg_at_k']:.3f}" if "ndcg_at_k" in d else "-"
        viol, bviol = d.get("violations_top3", 0), b.get("violations_top3", 0)
        lines.append(f"| {kind} | {hit} | {nd} | {viol:.1%} | {bhit} | {bviol:.1%} |")
    misses = [q for q in report.questions if not q.hit or q.violations]
    if misses:
        lines += ["", "questions missed or with violations:"]
        lines += [
            f"- {q.id} ({q.kind}): {q.question} → {len(q.returned)} results"
            + (f", violations {q.violations}" if q.violations else "")
            for q in misses
        ]
    lines += ["", "checks: " + ", ".join(f"{name} {'PASS' if ok else 'FAIL'}" for name, ok in report.checks.items())]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Signposting retrieval eval")
    parser.add_argument("suite", type=Path)
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--json", action="store_true", help="print the report as one JSON document")
    args = parser.parse_args(argv)
    try:
        report = run(args.suite, args.limit)
    except BadInput as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(report.model_dump(mode="json")) if args.json else render(report))
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
