"""Offline drafting speed: an OT initial assessment from a 60-minute transcript (~9,000 words, ~50,000 chars).

Run: .venv/bin/python benchmarks/draft.py [--words 9000] [--repeat 3] [--template ot_initial_assessment]
The transcript is the golden OT conversations (evals/data/ot/) joined, turn by turn, until it
reaches the length of an hour's talk. Prints the median of the runs (the machine is shared),
after one warm-up draft that also loads MiniLM; the target is 10 s.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

from assistant.drafting import OfflineDrafter
from assistant.embedding import shared_embedder
from assistant.evaluation.golden import load_cases
from assistant.records import Segment, Transcript
from assistant.templates import load_template

ROOT = Path(__file__).resolve().parent.parent
TARGET_SECONDS = 10.0


def hour_transcript(words: int) -> Transcript:
    segments: list[Segment] = []
    count = 0
    while count < words:
        for case in load_cases(ROOT / "evals" / "data" / "ot"):
            for segment in case.to_transcript().segments:
                segments.append(segment.model_copy(update={"id": len(segments), "start": 0.0, "end": 0.0}))
                count += len(segment.text.split())
                if count >= words:
                    break
            if count >= words:
                break
    return Transcript(
        text=" ".join(s.text for s in segments), duration=3600.0, language="en", model="bench", segments=segments
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--words", type=int, default=9_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs to take the median of")
    parser.add_argument("--template", default="ot_initial_assessment")
    args = parser.parse_args()

    started = time.perf_counter()
    drafter = OfflineDrafter(shared_embedder())
    template = load_template(args.template)
    drafter.draft(Transcript.from_text("Client: I'd love to swim again, twice a week."), template)
    print(f"load + warm-up: {time.perf_counter() - started:.1f} s")

    transcript = hour_transcript(args.words)
    words = len(transcript.text.split())
    print(
        f"transcript: {len(transcript.segments)} segments, {words} words, {len(transcript.text)} characters "
        f"(cpu cores: {os.cpu_count()})"
    )
    times, cpu = [], []
    for _ in range(args.repeat):
        t0, c0 = time.perf_counter(), time.process_time()
        draft = drafter.draft(transcript, template)
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    median = statistics.median(times)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    statements = sum(len(s.statements) for s in draft.sections)
    print(f"runs (wall): {', '.join(f'{t:.2f}' for t in times)} s; cpu: {', '.join(f'{c:.2f}' for c in cpu)} s")
    print(f"load average during the runs: {load:.1f} on {os.cpu_count()} cores (the machine is shared)")
    print(f"offline draft ({args.template}): median {median:.2f} s for {words} words; target <= {TARGET_SECONDS:.0f} s")
    print(f"draft: {statements} statements, {len(draft.goals)} goals")
    print("PASS" if median <= TARGET_SECONDS else "FAIL")
    return 0 if median <= TARGET_SECONDS else 1


if __name__ == "__main__":
    sys.exit(main())
