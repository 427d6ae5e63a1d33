"""Redaction speed: characters per second, and a 60-minute (~50,000-character) transcript.

Run: .venv/bin/python benchmarks/redact.py [--chars 50000]
The transcript is built from the labelled UK assessment transcripts in evals/data/pii/,
repeated to length, so it has realistic density of names, numbers and addresses.
"""

from __future__ import annotations

import argparse
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
    args = parser.parse_args()
    started = time.perf_counter()
    redactor = PresidioRedactor(Settings())
    redactor.redact("warm up: Hope lives at 12 Mill Lane, CM2 0DG.")
    print(f"load: {time.perf_counter() - started:.1f} s")
    text, known = long_transcript(args.chars)
    started = time.perf_counter()
    result = redactor.redact(text, known=known, pseudonyms=Pseudonyms())
    seconds = time.perf_counter() - started
    print(f"transcript: {len(text):,} characters, {len(result.entities)} findings")
    print(f"redacted in {seconds:.2f} s = {len(text) / seconds:,.0f} characters/s (target <= {TARGET_SECONDS} s)")
    return 0 if seconds <= TARGET_SECONDS else 1


if __name__ == "__main__":
    raise SystemExit(main())
