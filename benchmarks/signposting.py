"""Signposting at scale: ingest rate and query latency at 1k, 10k and 100k activities.

    .venv/bin/python benchmarks/signposting.py [--sizes 1000 10000 100000] [--questions 60]

Activities are generated from the sample directory (knowledge/sample-directory.json):
each copy gets its own id, a numbered name, another Essex town from knowledge/towns.yaml,
other days and another start time, so no two are the same. The MiniLM model is loaded
before any timing (model load is excluded, as the issue asks). Ingest is the whole
upsert (documents, batched embedding, Chroma write); latency is ``Signposter.ask``
end to end (parse, filtered Chroma query, BM25, ranking, answer, and the relaxation
searches when nothing is found) over the eval questions, after 5 warm-up questions.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from assistant.directory import DAY_CODES, import_path  # noqa: E402
from assistant.records import Activity, Location, Schedule  # noqa: E402

DIRECTORY = ROOT / "knowledge" / "sample-directory.json"
TOWNS = ROOT / "knowledge" / "towns.yaml"
QUESTIONS = ROOT / "evals" / "data" / "signposting" / "questions.yaml"
NAMESPACE = uuid.UUID("6f1c3f0e-5b1e-4d51-9a55-1b1e0b0c5e11")


def generate(n: int, seed: int = 7) -> list[Activity]:
    """``n`` distinct activities varied from the sample directory."""
    base = import_path(DIRECTORY, "oruk").activities
    towns = yaml.safe_load(TOWNS.read_text(encoding="utf-8"))["towns"]
    names = list(towns)
    rng = random.Random(seed)
    out: list[Activity] = []
    for i in range(n):
        a = base[i % len(base)]
        town = a.location.town if i < len(base) else rng.choice(names)
        hour = rng.randint(8, 20)
        minute = rng.choice((0, 15, 30, 45))
        days = sorted(rng.sample(DAY_CODES, rng.choice((1, 1, 1, 2))), key=DAY_CODES.index)
        lat, lon = towns[town]["latitude"], towns[town]["longitude"]
        new_id = str(uuid.uuid5(NAMESPACE, f"{a.id}/{i}"))
        out.append(
            a.model_copy(
                update={
                    "id": new_id,
                    "source_id": new_id,
                    "name": f"{a.name} #{i}" if i >= len(base) else a.name,
                    "location": Location(
                        name=f"{a.location.name} {i // len(base)}" if i >= len(base) else a.location.name,
                        address=a.location.address,
                        town=town,
                        postcode=a.location.postcode,
                        latitude=lat + rng.uniform(-0.01, 0.01),
                        longitude=lon + rng.uniform(-0.01, 0.01),
                    ),
                    "schedules": [
                        Schedule(
                            days=days,
                            start_time=f"{hour:02d}:{minute:02d}",
                            end_time=f"{hour + 1:02d}:{minute:02d}",
                            frequency="weekly",
                        )
                    ]
                    if i >= len(base)
                    else a.schedules,
                }
            )
        )
    return out


def approximate_vectors(activities: list[Activity], embedder: Any) -> list[np.ndarray]:
    """Each copy gets its original's MiniLM vector plus small noise, renormalised (see --approximate-vectors)."""
    from assistant.signposting import embedding_text

    base = import_path(DIRECTORY, "oruk").activities
    originals = embedder.embed([embedding_text(a) for a in base])
    rng = np.random.default_rng(7)
    out = []
    for i in range(len(activities)):
        v = originals[i % len(base)] + rng.normal(0, 0.01, originals.shape[1]).astype(np.float32)
        out.append(v / np.linalg.norm(v))
    return out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--questions", type=int, default=60, help="how many eval questions to time")
    parser.add_argument(
        "--approximate-vectors",
        action="store_true",
        help="embed only the sample's own records and give each copy its original's vector plus a little noise: "
        "measures the index (Chroma write, filtered query, BM25) at sizes MiniLM cannot embed in time on a "
        "small machine; the ingest rate then excludes embedding",
    )
    args = parser.parse_args(argv)

    from assistant.embedding import shared_embedder
    from assistant.signposting import ActivityIndex, Signposter, load_towns, register

    register()
    started = time.perf_counter()
    embedder = shared_embedder()
    embedder.embed(["warm up"])
    print(f"model load (excluded below): {time.perf_counter() - started:.1f} s", flush=True)
    questions = [q["question"] for q in yaml.safe_load(QUESTIONS.read_text(encoding="utf-8"))["questions"]]
    questions = questions[: args.questions]
    towns = load_towns(TOWNS)
    rows = []
    for size in args.sizes:
        activities = generate(size)
        with tempfile.TemporaryDirectory(prefix="reconnect-bench-") as tmp:
            index = ActivityIndex(Path(tmp) / "index", embedder, towns=towns)
            vectors = approximate_vectors(activities, embedder) if args.approximate_vectors else None
            started, cpu = time.perf_counter(), time.process_time()
            index.upsert(activities, vectors=vectors)
            ingest_s, ingest_cpu = time.perf_counter() - started, time.process_time() - cpu
            assert index.count() == size, f"indexed {index.count()} of {size}"
            signposter = Signposter(index)
            for q in questions[:5]:
                signposter.ask(q, 5)
            latencies = []
            cpu_ms = []
            empty = 0
            for q in questions:
                t0, c0 = time.perf_counter(), time.process_time()
                answer, _ = signposter.ask(q, 5)
                latencies.append((time.perf_counter() - t0) * 1000)
                cpu_ms.append((time.process_time() - c0) * 1000)
                empty += not answer.results
        row = {
            "activities": size,
            "ingest_s": round(ingest_s, 1),
            "ingest_per_s": round(size / ingest_s, 1),
            "ingest_per_cpu_s": round(size / ingest_cpu, 1),
            "cpu_p50_ms": round(statistics.median(cpu_ms), 1),
            "p50_ms": round(statistics.median(latencies), 1),
            "p95_ms": round(percentile(latencies, 0.95), 1),
            "empty_answers": empty,
        }
        rows.append(row)
        print(
            f"{size:>7} activities: ingest {row['ingest_s']} s ({row['ingest_per_s']}/s wall, "
            f"{row['ingest_per_cpu_s']} per CPU-second); query p50 {row['p50_ms']} ms, p95 {row['p95_ms']} ms "
            f"(CPU p50 {row['cpu_p50_ms']} ms) over {len(latencies)} questions; load average {os.getloadavg()[0]:.1f}",
            flush=True,
        )
    print()
    print(f"{os.cpu_count()} CPUs; wall-clock figures include waiting for other processes on a shared machine")
    if args.approximate_vectors:
        print("approximate vectors: ingest excludes MiniLM embedding (Chroma write and metadata only)")
    print("| activities | ingest (activities/s, wall) | ingest (per CPU-second) | query p50 (ms) | query p95 (ms) |")
    print("|---|---|---|---|---|")
    for row in rows:
        print(
            f"| {row['activities']:,} | {row['ingest_per_s']} | {row['ingest_per_cpu_s']} | {row['p50_ms']} "
            f"| {row['p95_ms']} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
