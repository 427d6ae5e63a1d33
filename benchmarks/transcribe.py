"""Transcription benchmark: real-time factor, WER, peak memory, NHS digits, speaker labels.

    .venv/bin/python benchmarks/transcribe.py              # tiny.en and base: jfk, conversation, stereo
    .venv/bin/python benchmarks/transcribe.py --long       # also a 60-minute recording with base (~10 min)
    .venv/bin/python benchmarks/transcribe.py --long --long-minutes 20

Every model × recording runs in a fresh process (``--worker``) that loads the model
and transcribes, so its peak memory (``ru_maxrss`` of that process: the RSS high-water
mark, model included) is its own. RTF is transcription seconds / audio seconds,
model loading left out (it is printed apart); jfk and the stereo sample are short, so
they are transcribed three times and the median taken.

Recordings:

* ``jfk.flac`` and ``stereo_diarization.wav``: SYSTRAN/faster-whisper test data (MIT),
  read in place from ../shared/data/audio.
* eight synthetic OT visits of 5.5 to 6.7 minutes each (home, review, clinic, community hub,
  home after a hospital discharge, a working-age adult at home, a client with MS at a
  community centre, and an allotment holder home after a broken hip): two espeak-ng voices,
  spoken phone numbers, NHS numbers and postcodes (benchmarks/_conversation.py), mono and
  with one voice per stereo channel; made with Debian's espeak-ng (installed with apt-get
  when missing and root) and cached in benchmarks/.cache/. Each was held out when written;
  none is any more (each script's role, printed with its figures, says what it was used for).

Speaker labels: on the synthetic conversation the reference is the script (who said
each turn, and when); on ``stereo_diarization.wav`` there is no annotation, so the
reference is each channel's own loudness (above its floor, not bleed from the other
channel, pauses under 0.3 s filled), the same signal the splitter itself relies on.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import _conversation as talk  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "audio"
if not DATA.exists():
    DATA = ROOT / "shared" / "data" / "audio"
JFK = DATA / "jfk.flac"
STEREO_SAMPLE = DATA / "stereo_diarization.wav"
JFK_TEXT = "And so my fellow Americans, ask not what your country can do for you, ask what you can do for your country."
MODELS = ("tiny.en", "base")
TARGETS = {"rtf": 0.15, "wer": 0.05, "long_mb": 1536.0, "speakers": 0.90}


# ── one measured run in its own process ────────────────────────────────────


def worker(model: str, audio: Path, repeats: int, overrides: dict[str, Any]) -> None:
    from assistant.settings import Settings
    from assistant.transcription import WhisperTranscriber

    settings = Settings(whisper_model=model, max_audio_minutes=150, **overrides)
    loading = time.perf_counter()
    transcriber = WhisperTranscriber(settings)
    load_s = time.perf_counter() - loading
    seconds, cpu = [], []
    for _ in range(repeats):
        began, used = time.perf_counter(), _cpu_seconds()
        transcript = transcriber.transcribe(audio)
        seconds.append(time.perf_counter() - began)
        cpu.append(_cpu_seconds() - used)
    print(json.dumps({
        "load_s": load_s,
        "seconds": statistics.median(seconds),
        "cpu_s": statistics.median(cpu),
        "threads": settings.whisper_threads,
        "transcript": transcript.model_dump(mode="json"),
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,  # KiB on Linux
    }))


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def measure(model: str, audio: Path, repeats: int, overrides: dict[str, Any]) -> dict[str, Any]:
    command = [sys.executable, __file__, "--worker", model, str(audio), str(repeats), json.dumps(overrides)]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"{model} on {audio.name} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    # kept for reading the errors afterwards
    kept = talk.CACHE / "transcripts" / f"{model}-{audio.parent.name}-{audio.stem}.json"
    kept.parent.mkdir(parents=True, exist_ok=True)
    kept.write_text(json.dumps(result["transcript"], indent=1))
    return result


# ── speaker scoring ────────────────────────────────────────────────────────


def role_share(segments: list[dict[str, Any]], turns: list[talk.Turn]) -> tuple[float, float]:
    """(share of scripted speech time covered by a segment with the right role, share labelled 'unknown')."""
    right = unknown = total = 0.0
    for speaker, start, end in turns:
        total += end - start
        for seg in segments:
            overlap = min(end, seg["end"]) - max(start, seg["start"])
            if overlap <= 0:
                continue
            if seg["speaker"] == speaker:
                right += overlap
            elif seg["speaker"] == "unknown":
                unknown += overlap
    return (min(1.0, right / total), unknown / total) if total else (0.0, 0.0)


def channel_accuracy(path: Path, segments: list[dict[str, Any]]) -> float:
    from assistant.audio import inspect_audio, read_chunks
    from assistant.records import Segment
    from assistant.speakers import ChannelLoudness

    loudness = ChannelLoudness.join(
        ChannelLoudness.of(c.channels) for c in read_chunks(inspect_audio(path, 9000)) if c.channels is not None
    )
    return loudness.label_accuracy([Segment.model_validate(s) for s in segments])


# ── the run ────────────────────────────────────────────────────────────────


def row(model: str, name: str, run: dict[str, Any], score: str, notes: list[str]) -> None:
    duration = run["transcript"]["duration"]
    print(f"{model:8} {name:26} {duration:7.1f} {run['load_s']:6.1f} {run['seconds'] / duration:6.3f} "
          f"{run['cpu_s'] / duration:7.3f} {score:>7} {run['peak_rss_mb']:8.0f}  {'; '.join(notes)}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--worker", nargs=4, metavar=("MODEL", "AUDIO", "REPEATS", "OVERRIDES"),
                        help=argparse.SUPPRESS)
    parser.add_argument("--models", nargs="+", default=list(MODELS))
    parser.add_argument("--scripts", nargs="+", choices=list(talk.SCRIPTS), default=list(talk.SCRIPTS),
                        help="which synthetic conversations (each one's role is printed with its figures)")
    parser.add_argument("--only", nargs="*", choices=["jfk", "mono", "stereo", "sample"],
                        default=["jfk", "mono", "stereo", "sample"],
                        help="which recordings to run (none: `--only --long` for the long recording alone)")
    parser.add_argument("--long", action="store_true", help="also a long recording with base (memory)")
    parser.add_argument("--long-minutes", type=float, default=60.0)
    parser.add_argument("--threads", type=int, default=None, help="cpu_threads (default: settings, = cores)")
    parser.add_argument("--beam", type=int, default=None, help="beam size (default: settings)")
    parser.add_argument("--compute-type", default=None, help="CTranslate2 compute type (default: settings)")
    parser.add_argument("--voices", nargs=2, metavar=("OT", "CLIENT"), default=[talk.OT_VOICE, talk.CLIENT_VOICE],
                        help="espeak-ng voices for the synthetic conversation")
    args = parser.parse_args()
    if args.worker:
        model, audio, repeats, overrides = args.worker
        worker(model, Path(audio), int(repeats), json.loads(overrides))
        return

    overrides: dict[str, Any] = {}
    if args.threads:
        overrides["whisper_threads"] = args.threads
    if args.beam:
        overrides["whisper_beam_size"] = args.beam
    if args.compute_type:
        overrides["whisper_compute_type"] = args.compute_type

    conversations = {script: talk.conversation(*args.voices, script=script) for script in args.scripts}
    load = os.getloadavg()[0]
    for script, (_, _, turns) in conversations.items():
        said = [number for number, _ in talk.nhs_sayings(script)]
        print(f"synthetic conversation {script}: {turns[-1][2] / 60:.1f} min, {len(turns)} turns, "
              f"{len(said)} NHS numbers said ({len(set(said))} different); {talk.SCRIPT_ROLE[script]}")
    print(f"voices {args.voices[0]} (OT) and {args.voices[1]} (client); {os.cpu_count()} cores, load average "
          f"{load:.1f} at start; overrides {overrides or 'none'}")
    print(f"{'model':8} {'recording':26} {'audio s':>7} {'load s':>6} {'RTF':>6} {'CPU/s':>7} {'WER':>7} "
          f"{'peak MB':>8}  notes")
    summary: dict[str, dict[str, Any]] = {}
    for model in args.models:
        got: dict[str, Any] = summary.setdefault(model, {})
        if "jfk" in args.only:
            run = measure(model, JFK, 3, overrides)
            got["jfk_wer"] = talk.wer(JFK_TEXT, run["transcript"]["text"])
            got["jfk_rtf"] = run["seconds"] / run["transcript"]["duration"]
            row(model, "jfk.flac", run, f"{got['jfk_wer']:.1%}", ["median of 3"])
        for script, (mono, stereo, turns) in conversations.items():
            for kind, audio in (("mono", mono), ("stereo", stereo)):
                if kind not in args.only:
                    continue
                run = measure(model, audio, 1, overrides)
                transcript = run["transcript"]
                error = talk.wer(talk.reference(script), transcript["text"])
                heard = talk.nhs_found(transcript, script, turns)
                found = [(number, exact) for number, exact, _ in heard]
                right, unknown = role_share(transcript["segments"], turns)
                key = f"{script} {kind}"
                unflagged = [number for number, exact, flagged in heard if not exact and not flagged]
                got[key] = {"wer": error, "rtf": run["seconds"] / transcript["duration"], "nhs": found,
                            "roles": right, "unflagged": unflagged}
                misses = len(found) - sum(ok for _, ok in found)
                notes = [f"NHS digit-exact {len(found) - misses}/{len(found)}"
                         + (f" ({misses - len(unflagged)} of {misses} misses flagged for checking)" if misses else "")]
                if kind == "mono":
                    how = ("by voice, named from the words" if any("by voice" in w for w in transcript["warnings"])
                           else "from the words")
                    notes.append(f"roles inferred {how} right {right:.0%} of speech time ({unknown:.0%} unknown)")
                else:
                    notes.append(f"roles by channel right {right:.1%} of scripted speech time")
                row(model, f"{script} ({kind})", run, f"{error:.1%}", notes)
                wrong = [n for n, ok in found if not ok]
                if wrong:
                    print(f"{'':8} {'':26} NHS numbers not digit-exact: {', '.join(wrong)}; digit runs heard: "
                          f"{', '.join(r for r, _, _ in talk.digit_runs(transcript['segments']) if len(r) >= 7)}")
        if "sample" in args.only:
            run = measure(model, STEREO_SAMPLE, 3, overrides)
            got["sample_speakers"] = channel_accuracy(STEREO_SAMPLE, run["transcript"]["segments"])
            row(model, "stereo_diarization.wav", run, "-",
                [f"speaker labels right {got['sample_speakers']:.1%} of speech time (reference: channel loudness)",
                 "median of 3"])
    if args.long:
        hour = talk.long_recording(talk.conversation(*args.voices)[0], args.long_minutes)
        run = measure("base", hour, 1, overrides)
        summary.setdefault("base", {})["long_mb"] = run["peak_rss_mb"]
        summary["base"]["long_minutes"] = run["transcript"]["duration"] / 60
        row("base", f"{args.long_minutes:g}-minute recording", run, "-",
            [f"{len(run['transcript']['segments'])} segments, Ogg/Opus, mono conversation looped"])
    report(summary)


def report(summary: dict[str, dict[str, Any]]) -> None:
    base = summary.get("base", {})
    tiny = summary.get("tiny.en", {})
    if "home-visit mono" in tiny and "home-visit mono" in base:
        ratio = tiny["home-visit mono"]["rtf"] / base["home-visit mono"]["rtf"]
        print(f"\nRTF ratio tiny.en / base on the mono home visit: {ratio:.2f}")
    for model, got in summary.items():
        for key, value in got.items():
            if isinstance(value, dict):
                listed = ", ".join(f"{n} {'exact' if ok else 'WRONG'}" for n, ok in value["nhs"])
                print(f"NHS numbers, {model}, {key}: {listed}")
    if not base:
        return
    print("\ntargets with base:")
    checks = []
    for key, value in base.items():
        if not isinstance(value, dict):
            continue
        checks.append((f"RTF on the {key} conversation <= {TARGETS['rtf']}", value["rtf"],
                       value["rtf"] <= TARGETS["rtf"], "{:.3f}"))
        checks.append((f"WER on the {key} conversation <= 5 %", value["wer"], value["wer"] <= TARGETS["wer"],
                       "{:.1%}"))
        exact = sum(ok for _, ok in value["nhs"])
        checks.append((f"NHS numbers digit-exact ({key})", f"{exact}/{len(value['nhs'])}",
                       exact == len(value["nhs"]), "{}"))
        checks.append((f"NHS numbers neither exact nor flagged for checking ({key})", len(value["unflagged"]),
                       not value["unflagged"], "{}"))
    if "jfk_wer" in base:
        checks.append(("WER on jfk.flac <= 5 %", base["jfk_wer"], base["jfk_wer"] <= TARGETS["wer"], "{:.1%}"))
    if "sample_speakers" in base:
        checks.append(("speaker labels on stereo_diarization.wav >= 90 % of speech time", base["sample_speakers"],
                       base["sample_speakers"] >= TARGETS["speakers"], "{:.1%}"))
    if "long_mb" in base:
        checks.append((f"{base['long_minutes']:.0f}-minute recording peak RSS <= 1.5 GB", base["long_mb"],
                       base["long_mb"] <= TARGETS["long_mb"], "{:.0f} MB"))
    for label, value, ok, fmt in checks:
        print(f"  {'met ' if ok else 'MISS'}  {label}: {fmt.format(value)}")


if __name__ == "__main__":
    main()
