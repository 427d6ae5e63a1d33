"""Redaction speed: characters per second, and a 60-minute (~50,000-character) transcript.

Run: .venv/bin/python benchmarks/redact.py [--chars 50000]
The transcript is built from the labelled UK assessment transcripts in evals/data/pii/,
repeated to length, so it has realistic density of names, numbers and addresses. It is
redacted twice: as one text (the redactor alone), and as the app redacts a transcript
before a model sees it (``Services.redact_transcript``: one line a segment, each speaker's
run of segments redacted together, in two passes so everyone named is known throughout).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

from assistant.evaluation.pii import load_transcripts
from assistant.redaction import PresidioRedactor, Pseudonyms
from assistant.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 5.0


def long_transcript(chars: int) -> tuple[str, list[str]]:
    samples = load_transcripts(ROOT / "evals" / "data" / "pii" / "uk_ot_transcripts.yaml")
    text = "\n".join(s.text for s in samples)
    while len(text) < chars:
        text += "\n" + text
    return text[:chars], samples[0].known


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--chars", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs to take the median of (the machine is shared)")
    args = parser.parse_args()
    started = time.perf_counter()
    redactor = PresidioRedactor(Settings())
    redactor.redact("warm up: Hope lives at 12 Mill Lane, CM2 0DG.")
    print(f"load: {time.perf_counter() - started:.1f} s")
    text, known = long_transcript(args.chars)
    times, cpu = [], []
    for _ in range(max(1, args.repeat)):
        started, started_cpu = time.perf_counter(), time.process_time()
        result = redactor.redact(text, known=known, pseudonyms=Pseudonyms())
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    seconds = statistics.median(times)
    print(f"transcript: {len(text):,} characters, {len(result.entities)} findings")
    print(f"runs (wall): {', '.join(f'{t:.2f}' for t in times)} s; CPU time median {statistics.median(cpu):.2f} s")
    print(f"load average while measuring: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    rate = len(text) / seconds
    print(f"redacted in {seconds:.2f} s (median) = {rate:,.0f} characters/s (target <= {TARGET_SECONDS} s)")

    from assistant.records import Transcript
    from assistant.services import Services

    services = Services(Settings())
    services._engines["redactor"] = redactor  # the one already loaded
    transcript = Transcript.from_text(text)
    app_times = []
    for _ in range(max(1, args.repeat)):
        started = time.perf_counter()
        services.redact_transcript(transcript, known)
        app_times.append(time.perf_counter() - started)
    app_seconds = statistics.median(app_times)
    print(
        f"as the app redacts a transcript ({len(transcript.segments)} segments): "
        f"{', '.join(f'{t:.2f}' for t in app_times)} s; median {app_seconds:.2f} s"
    )
    return 0 if max(seconds, app_seconds) <= TARGET_SECONDS else 1


if __name__ == "__main__":
    raise SystemExit(main())
