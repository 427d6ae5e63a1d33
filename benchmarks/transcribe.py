"""Transcription benchmark: real-time factor, WER, peak memory, NHS digits, speakers.

    .venv/bin/python benchmarks/transcribe.py            # tiny.en and base, jfk + synthetic conversation
    .venv/bin/python benchmarks/transcribe.py --hour     # also a 60-minute recording with base (about 10 min)

For each model and recording a fresh process loads the model and transcribes, so
peak memory (max RSS) is that run's alone. The synthetic conversation (over 5
minutes, two espeak-ng voices, spoken phone numbers, NHS numbers and postcodes) is
made with Debian's espeak-ng, installed with apt-get if it is missing. WER is on
text with case, punctuation and number formats normalised ("four eight five" and
"485" both become "4 8 5"). jfk.flac and stereo_diarization.wav are from
SYSTRAN/faster-whisper's test data (MIT), read in place from ../shared/data/audio.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
import wave
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

DATA = ROOT.parent / "shared" / "data" / "audio"
JFK_TEXT = "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country."
MODELS = ("tiny.en", "base")
OT_VOICE, CLIENT_VOICE = "en-gb+f3", "en-gb+m3"
PAUSE_S = 0.7

# The conversation: (speaker, text). Numbers are written as they are said, digit by digit.
NHS_NUMBERS = ["9434765919", "4010232137", "4857773456"]
DIGIT_WORDS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]


def said(digits: str, groups: tuple[int, ...]) -> str:
    """'9434765919', (3, 3, 4) -> 'nine four three, four seven six, five nine one nine'."""
    out, at = [], 0
    for size in groups:
        out.append(" ".join(DIGIT_WORDS[int(d)] for d in digits[at : at + size]))
        at += size
    return ", ".join(out)


def nhs(number: str) -> str:
    return said(number, (3, 3, 4))


SCRIPT: list[tuple[str, str]] = [
    ("OT", "Hello, my name is Helen and I am the occupational therapist from the Reconnect team. "
           "Thank you for seeing me at home today."),
    ("client", "You are welcome. Come in and sit down. I have been looking forward to this visit."),
    ("OT", "Before we start, is it all right if I record our conversation so that I can write up "
           "the assessment accurately afterwards?"),
    ("client", "Yes, that is fine with me."),
    ("OT", "Thank you. Can I check a few details first? Could you tell me your NHS number?"),
    ("client", f"It is {nhs(NHS_NUMBERS[0])}."),
    ("OT", f"Let me read that back to you. {nhs(NHS_NUMBERS[0])}. Is that right?"),
    ("client", "Yes, that is right."),
    ("OT", "And what is the best telephone number to reach you on?"),
    ("client", f"My mobile is {said('07700900123', (5, 3, 3))}."),
    ("OT", "And your postcode, please?"),
    ("client", "It is C M one, one A B. That is Chelmsford."),
    ("OT", "Lovely. Who else should we contact if we cannot reach you?"),
    ("client", f"My daughter Sarah. Her number is {said('07700900456', (5, 3, 3))}. "
               "She lives in Colchester, postcode C O four, three S Q."),
    ("OT", "Does your daughter have her own care needs, or is she your main carer?"),
    ("client", f"She helps me with shopping. Her NHS number is {nhs(NHS_NUMBERS[1])}, in case you need it "
               "for the carer assessment."),
    ("OT", "Thank you. Now tell me a little about why you were referred to us."),
    ("client", "I had a stroke last spring. My left arm is weaker than it was and I get tired very quickly. "
               "I used to be very active but I have hardly left the house since."),
    ("OT", "That sounds hard. How are you managing with washing and dressing?"),
    ("client", "I can wash at the sink, but getting in and out of the bath is difficult. "
               "Buttons are slow with my left hand, so I wear tops that pull over my head."),
    ("OT", "Have you had any falls in the last year?"),
    ("client", "Two falls, both in the garden. The path is uneven and I lost my balance."),
    ("OT", "Did you hurt yourself, and were you able to get up on your own?"),
    ("client", "I bruised my hip the first time. The second time my neighbour helped me up."),
    ("OT", "How do you get about outside the house at the moment?"),
    ("client", "I walk with a stick to the end of the road. For anything further my daughter drives me."),
    ("OT", "What about the bus? Do you have a bus pass?"),
    ("client", "No, I have never applied. I did not know I could get one."),
    ("OT", "You may be eligible for a disabled person's bus pass. I can write a supporting letter for you."),
    ("client", "That would be a great help, thank you."),
    ("OT", "What did you enjoy doing before the stroke?"),
    ("client", "I played bowls every week at the club in Braintree, and I liked swimming at the leisure centre."),
    ("OT", "There is a boccia group at the leisure centre in Chelmsford on Wednesday mornings. "
           "It is similar to bowls and you play seated. Would that interest you?"),
    ("client", "I have heard of boccia. Yes, I would like to try that."),
    ("OT", "The pool there also has a Pool Pod, which is a lift that lowers you into the water, "
           "so you would not need to use the steps."),
    ("client", "I did not know that. The steps were what worried me most about swimming."),
    ("OT", "Are you taking any regular medication that I should know about?"),
    ("client", "I take tablets for my blood pressure, and a blood thinner since the stroke."),
    ("OT", "Thank you. Who is your doctor, and which surgery are you registered with?"),
    ("client", "Doctor Patel at the Writtle surgery. Their number is "
               f"{said('01245421421', (5, 3, 3))}."),
    ("OT", "Let us think about goals. What would you most like to be able to do in three months?"),
    ("client", "I would like to get to the boccia group on my own, and swim once a week again."),
    ("OT", "Those are good goals. We could start with the boccia group with your daughter for the first "
           "two sessions, and then try the bus together."),
    ("client", "I think I could manage that if someone comes with me the first time."),
    ("OT", "I will also refer you for a grab rail by the back door and a bath board. "
           "Is there anything else that worries you at home?"),
    ("client", "Only the garden path. I do not go out there much now because of the falls."),
    ("OT", "I will ask the handyperson service to look at the path. Before I go, can I check one more thing? "
           "Your husband mentioned on the phone that he also wanted some help."),
    ("client", f"Yes, he would. His NHS number is {nhs(NHS_NUMBERS[2])}. He has arthritis in both knees."),
    ("OT", f"Thank you. So that is {nhs(NHS_NUMBERS[2])} for your husband. I will pass that on to the team."),
    ("client", "Thank you so much. This has been really helpful."),
    ("OT", "You are very welcome. I will send you a copy of the plan and the letter for the bus pass "
           "within a week. Goodbye for now."),
    ("client", "Goodbye, and thank you again."),
]


# ── normalising text for WER and digits ────────────────────────────────────


def normalise(text: str) -> list[str]:
    """Lower case, no punctuation, number words as digits, codes one character a token."""
    text = text.lower().replace("-", " ")
    text = re.sub(r"[^a-z0-9' ]+", " ", text)
    tokens: list[str] = []
    for token in text.split():
        token = token.strip("'")
        if token in DIGIT_WORDS:
            tokens.append(str(DIGIT_WORDS.index(token)))
        elif any(ch.isdigit() for ch in token):
            tokens.extend(token)  # "cm1" -> c m 1, "485" -> 4 8 5
        elif token:
            tokens.append(token)
    # single letters spelled out ("c m") and written together ("cm") compare equal
    out: list[str] = []
    for token in tokens:
        if len(token) <= 2 and token.isalpha() and token not in {"a", "i", "is", "it", "in", "on", "of", "to",
                                                                 "up", "my", "me", "we", "he", "so", "no", "do",
                                                                 "be", "or", "if", "at", "as", "by", "am", "an",
                                                                 "go", "us"}:
            out.extend(token)
        else:
            out.append(token)
    return out


def wer(reference: str, hypothesis: str) -> float:
    import jiwer

    return float(jiwer.wer(" ".join(normalise(reference)), " ".join(normalise(hypothesis))))


def digit_runs(text: str) -> list[str]:
    runs, current = [], ""
    for token in normalise(text):
        if token.isdigit():
            current += token
        elif current:
            runs.append(current)
            current = ""
    return [*runs, current] if current else runs


def nhs_exact(hypothesis: str) -> tuple[int, int]:
    """(NHS numbers said that appear digit-exact, NHS numbers said)."""
    said_numbers = [n for _, text in SCRIPT for n in NHS_NUMBERS if nhs(n) in text]
    runs = digit_runs(hypothesis)
    found = 0
    remaining = list(runs)
    for number in said_numbers:
        hit = next((r for r in remaining if number in r), None)
        if hit is not None:
            remaining.remove(hit)
            found += 1
    return found, len(said_numbers)


# ── making the audio ───────────────────────────────────────────────────────


def ensure_espeak() -> str:
    found = shutil.which("espeak-ng")
    if found:
        return found
    print("espeak-ng is missing: installing it with apt-get", flush=True)
    sudo = [] if os.geteuid() == 0 else ["sudo"]
    subprocess.run([*sudo, "apt-get", "update", "-qq"], check=False)
    subprocess.run([*sudo, "apt-get", "install", "-y", "-qq", "espeak-ng"], check=True)
    found = shutil.which("espeak-ng")
    if not found:
        sys.exit("espeak-ng could not be installed: run `apt-get install -y espeak-ng` and try again")
    return found


def speak(espeak: str, voice: str, text: str, out: Path) -> tuple[np.ndarray, int]:
    subprocess.run([espeak, "-v", voice, "-s", "150", "-w", str(out), text], check=True, capture_output=True)
    with wave.open(str(out), "rb") as wav:
        rate = wav.getframerate()
        samples = np.frombuffer(wav.readframes(wav.getnframes()), dtype="<i2")
    return samples, rate


def write_wav(path: Path, samples: np.ndarray, rate: int) -> None:
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1 if samples.ndim == 1 else samples.shape[1])
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(samples.astype("<i2").tobytes())


def make_conversation(folder: Path) -> tuple[Path, Path, list[tuple[str, float, float]]]:
    """(mono wav, stereo wav with the OT left and the client right, turns with times)."""
    espeak = ensure_espeak()
    pieces: list[np.ndarray] = []
    turns: list[tuple[str, float, float]] = []
    channel: list[int] = []
    rate = 22_050
    at = 0.0
    for number, (speaker, text) in enumerate(SCRIPT):
        samples, rate = speak(espeak, OT_VOICE if speaker == "OT" else CLIENT_VOICE, text,
                              folder / f"turn{number}.wav")
        pieces.append(samples)
        channel.append(0 if speaker == "OT" else 1)
        turns.append((speaker, at, at + len(samples) / rate))
        at += len(samples) / rate + PAUSE_S
        pieces.append(np.zeros(int(PAUSE_S * rate), dtype="<i2"))
        channel.append(-1)
    mono = np.concatenate(pieces)
    stereo = np.zeros((len(mono), 2), dtype="<i2")
    start = 0
    for piece, side in zip(pieces, channel, strict=True):
        if side >= 0:
            stereo[start : start + len(piece), side] = piece
        start += len(piece)
    write_wav(folder / "conversation.wav", mono, rate)
    write_wav(folder / "conversation-stereo.wav", stereo, rate)
    return folder / "conversation.wav", folder / "conversation-stereo.wav", turns


def make_hour(conversation: Path, out: Path, minutes: float = 60.0) -> Path:
    """The conversation again and again to ``minutes``, written in a stream (never all in memory)."""
    with wave.open(str(conversation), "rb") as src:
        rate, frames = src.getframerate(), src.readframes(src.getnframes())
    repeats = int(np.ceil(minutes * 60 * rate * 2 / len(frames)))
    with wave.open(str(out), "wb") as dst:
        dst.setnchannels(1)
        dst.setsampwidth(2)
        dst.setframerate(rate)
        for _ in range(repeats):
            dst.writeframes(frames)
    return out


# ── one measured run in its own process ────────────────────────────────────


def worker(model: str, audio: Path) -> None:
    from assistant.settings import Settings
    from assistant.transcription import WhisperTranscriber

    settings = Settings(whisper_model=model, whisper_threads=os.cpu_count() or 1, max_audio_minutes=150)
    loaded = time.perf_counter()
    transcriber = WhisperTranscriber(settings)
    began = time.perf_counter()
    transcript = transcriber.transcribe(audio)
    seconds = time.perf_counter() - began
    print(json.dumps({
        "load_s": began - loaded,
        "seconds": seconds,
        "transcript": transcript.model_dump(mode="json"),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }))


def measure(model: str, audio: Path) -> dict:
    done = subprocess.run([sys.executable, __file__, "--worker", model, str(audio)],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"{model} on {audio.name} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def speaker_share(segments: list[dict], turns: list[tuple[str, float, float]]) -> tuple[float, float]:
    """(share of speech time whose inferred role is right, share left 'unknown') on the mono conversation."""
    right = unknown = total = 0.0
    for speaker, start, end in turns:
        for seg in segments:
            overlap = min(end, seg["end"]) - max(start, seg["start"])
            if overlap <= 0:
                continue
            total += overlap
            if seg["speaker"] == speaker:
                right += overlap
            elif seg["speaker"] == "unknown":
                unknown += overlap
    return (right / total, unknown / total) if total else (0.0, 0.0)


def stereo_agreement(path: Path, segments: list[dict]) -> float:
    from assistant.audio import inspect_audio, read_chunks
    from assistant.records import Segment
    from assistant.speakers import ChannelLoudness

    loudness = ChannelLoudness.join(
        ChannelLoudness.of(c.channels) for c in read_chunks(inspect_audio(path, 9000)) if c.channels is not None
    )
    return loudness.agreement([Segment.model_validate(s) for s in segments])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--worker", nargs=2, metavar=("MODEL", "AUDIO"), help=argparse.SUPPRESS)
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--hour", action="store_true", help="also transcribe a 60-minute recording with base")
    args = parser.parse_args()
    if args.worker:
        worker(args.worker[0], Path(args.worker[1]))
        return

    folder = Path(tempfile.mkdtemp(prefix="reconnect-bench-"))
    try:
        conversation, stereo, turns = make_conversation(folder)
        reference = " ".join(text for _, text in SCRIPT)
        minutes = turns[-1][2] / 60
        print(f"synthetic conversation: {minutes:.1f} min, {len(SCRIPT)} turns, two espeak-ng voices, "
              f"{len(NHS_NUMBERS)} NHS numbers said {nhs_exact(reference)[1]} times; cores: {os.cpu_count()}")
        print(f"{'model':8} {'recording':24} {'audio s':>8} {'RTF':>6} {'WER':>7} {'peak MB':>8}  notes")
        for model in args.models:
            for name, audio, ref in (("jfk.flac", DATA / "jfk.flac", JFK_TEXT),
                                     ("conversation (mono)", conversation, reference),
                                     ("conversation (stereo)", stereo, reference),
                                     ("stereo_diarization.wav", DATA / "stereo_diarization.wav", None)):
                run = measure(model, audio)
                transcript = run["transcript"]
                rtf = run["seconds"] / transcript["duration"]
                notes: list[str] = []
                score = f"{wer(ref, transcript['text']):7.1%}" if ref else f"{'-':>7}"
                if ref is reference:
                    found, said_count = nhs_exact(transcript["text"])
                    notes.append(f"NHS digit-exact {found}/{said_count}")
                if audio == conversation:
                    right, unknown = speaker_share(transcript["segments"], turns)
                    notes.append(f"roles inferred right {right:.0%} of speech time ({unknown:.0%} unknown)")
                if audio in (stereo, DATA / "stereo_diarization.wav"):
                    notes.append(f"speaker labels right {stereo_agreement(audio, transcript['segments']):.1%} "
                                 "of speech time")
                print(f"{model:8} {name:24} {transcript['duration']:8.1f} {rtf:6.3f} {score} "
                      f"{run['peak_rss_mb']:8.0f}  {'; '.join(notes)}", flush=True)
        if args.hour:
            hour = make_hour(conversation, folder / "hour.wav")
            run = measure("base", hour)
            transcript = run["transcript"]
            print(f"{'base':8} {'60-minute recording':24} {transcript['duration']:8.1f} "
                  f"{run['seconds'] / transcript['duration']:6.3f} {'-':>7} {run['peak_rss_mb']:8.0f}  "
                  f"{len(transcript['segments'])} segments", flush=True)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()
