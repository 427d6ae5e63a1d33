"""Which espeak-ng voices the synthetic visits are read in: every English voice on a passage of its own.

    .venv/bin/python benchmarks/voices.py                 # every English voice, Whisper base (40 min or so)
    .venv/bin/python benchmarks/voices.py --voices en+f3 en+m3 en+f2

The synthetic visits in ``_conversation.py`` stand in for two people talking. espeak-ng
is a formant synthesiser, and some of its voices are far less intelligible than
others; a voice Whisper mishears measures espeak-ng, not the transcriber. This survey
measures how much the voice matters, on a passage that is in none of the visits
(``PASSAGE``: the same kind of talk, with an NHS number, a phone number, a postcode and
OT words), so that a pair of voices can be chosen without looking at the visits. Each
voice reads the passage alone; the table gives Whisper base's WER, whether the NHS
number came out digit-exact, and the voice's median pitch (a pair should be one higher
voice and one lower, so that the two people in a visit can be told apart by voice, as
two people in a room can). What it found, and why the visits' pair was kept, is in the
README (*Which voices*).

Voices that write the same samples as one listed before them are dropped (espeak-ng
1.51 ignores a variant after "en-gb", for one).
"""

from __future__ import annotations

import argparse
import hashlib
import re
import statistics
import subprocess
import sys
import tempfile
import wave
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import _conversation as talk  # noqa: E402

NHS = "6218407339"
PHONE = "07700900789"
# written for this survey and used for nothing else: no visit script shares its sentences
PASSAGE = (
    "Good afternoon. I am calling back about the referral for your wife. "
    f"Her NHS number is {talk.nhs(NHS)}, and the number we have for you is {talk.phone(PHONE)}. "
    "The address is fourteen Mill Lane, Witham, postcode C M eight, two D F. "
    "She has had Parkinson's disease for six years and takes co-careldopa four times a day. "
    "Since the winter she has found the stairs harder, and she stopped going to the walking group in the park. "
    "She would like to get back to the walking group, and to the Tuesday coffee morning at the library. "
    "I will arrange a stair rail and a perching stool for the kitchen, and I will ring you next week."
)
HIGHER_PITCH_HZ = 150.0  # median pitch that splits the higher voices from the lower


def english_voices(espeak: str) -> list[str]:
    """Every English language voice, and the default English voice with each variant espeak-ng lists."""

    def files(listing: str) -> list[str]:
        # the File column: a path under gmw/ or !v/, up to two spaces (a variant's name may have one)
        return [m.group(1) for m in re.finditer(r"((?:gmw|!v)/.+?)(?:\s{2,}|$)", listing, re.M)]

    def listing(which: str) -> str:
        return subprocess.run([espeak, f"--voices={which}"], capture_output=True, text=True, check=True).stdout

    languages = [name for name in files(listing("en")) if name.startswith("gmw/")]
    variants = [name.removeprefix("!v/") for name in files(listing("variant"))]
    return list(dict.fromkeys([*languages, *(f"en+{name}" for name in variants)]))


def pitch_hz(samples: np.ndarray, rate: int = talk.RATE) -> float:
    """Median pitch of the voiced 40-ms frames, by autocorrelation between 70 and 400 Hz."""
    x = samples.astype(np.float32) / 32768.0
    frame, hop = int(0.04 * rate), int(0.02 * rate)
    lo, hi = int(rate / 400), int(rate / 70)
    found = []
    for at in range(0, len(x) - frame, hop):
        piece = x[at : at + frame] - x[at : at + frame].mean()
        if np.sqrt(np.mean(piece**2)) < 0.02:
            continue
        corr = np.correlate(piece, piece, mode="full")[frame - 1 :]
        lag = lo + int(np.argmax(corr[lo:hi]))
        if corr[lag] > 0.5 * corr[0]:
            found.append(rate / lag)
    return statistics.median(found) if found else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--voices", nargs="+", help="espeak-ng voices (default: every English voice)")
    parser.add_argument("--model", default="base")
    args = parser.parse_args()
    espeak = talk.ensure_espeak()
    voices = args.voices or english_voices(espeak)

    from assistant.settings import Settings
    from assistant.transcription import WhisperTranscriber

    transcriber = WhisperTranscriber(Settings(whisper_model=args.model))
    seen: dict[str, str] = {}
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        for voice in voices:
            wav = Path(scratch) / "passage.wav"
            try:
                samples = talk._speak(espeak, voice, PASSAGE, wav)
            except (subprocess.CalledProcessError, SystemExit, EOFError, wave.Error) as exc:
                print(f"{voice:22} not spoken: {exc}", flush=True)
                continue
            digest = hashlib.sha256(samples.tobytes()).hexdigest()
            if digest in seen:
                print(f"{voice:22} same samples as {seen[digest]}: dropped", flush=True)
                continue
            seen[digest] = voice
            keep = Path(scratch) / f"{len(rows)}.wav"
            talk._write_wav(keep, samples)
            text = transcriber.transcribe(keep).text
            error = talk.wer(PASSAGE, text)
            exact = NHS in "".join(t for t in talk.normalise(text) if t.isdigit())
            pitch = pitch_hz(samples)
            rows.append((error, voice, exact, pitch))
            print(f"{voice:22} WER {error:6.1%}  NHS {'exact' if exact else 'MISSED'}  pitch {pitch:5.0f} Hz",
                  flush=True)
    print(f"\nby WER (Whisper {args.model}, {len(PASSAGE.split())}-word passage):")
    for error, voice, exact, pitch in sorted(rows):
        side = "higher" if pitch >= HIGHER_PITCH_HZ else "lower"
        print(f"  {error:6.1%}  {voice:22} {side:6} {pitch:5.0f} Hz  NHS {'exact' if exact else 'missed'}")
    for side in ("higher", "lower"):
        best = [r for r in sorted(rows) if (r[3] >= HIGHER_PITCH_HZ) == (side == "higher")]
        if best:
            print(f"most intelligible {side} voice: {best[0][1]} ({best[0][0]:.1%})")


if __name__ == "__main__":
    main()
