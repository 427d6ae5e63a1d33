"""Reading recordings: checks first, then 16 kHz chunks with bounded memory.

:func:`inspect_audio` opens a file and reads its packets without decoding them, so an
empty file, something that is not audio, a cut-off (truncated) file or one over the
length limit is refused before any transcription starts. :func:`read_chunks` then
decodes with PyAV in a stream and hands out windows of about ``window_s`` seconds of
16 kHz mono, cut at a quiet moment so no word is split. For a two-channel recording
each chunk also carries the left and right channels, which the speaker split needs.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from assistant.errors import AudioError

__all__ = ["FRAME_S", "SAMPLE_RATE", "AudioChunk", "AudioFile", "frame_rms", "inspect_audio", "read_chunks"]

log = logging.getLogger("reconnect.audio")

SAMPLE_RATE = 16_000
FRAME_S = 0.02  # one loudness frame: 20 ms
FRAME = int(SAMPLE_RATE * FRAME_S)
CUT_SEARCH_S = 30.0  # look for a quiet moment in the last 30 s of a window
TRUNCATION_TOLERANCE = 0.97  # audio ending before 97 % of the declared length is cut off


@dataclass(frozen=True)
class AudioFile:
    """What the container says about a recording, checked against its packets."""

    path: Path
    duration: float
    channels: int
    sample_rate: int
    codec: str


@dataclass
class AudioChunk:
    """One window of the recording, ready for Whisper."""

    start: float  # seconds from the start of the recording
    samples: np.ndarray  # float32, 16 kHz mono
    channels: np.ndarray | None = None  # (2, n) float32 left and right, two-channel recordings only

    @property
    def duration(self) -> float:
        return len(self.samples) / SAMPLE_RATE


def _minutes(seconds: float) -> str:
    return f"{int(seconds // 60)}:{int(seconds % 60):02d}"


def inspect_audio(path: Path, max_seconds: float) -> AudioFile:
    """Open ``path`` and read its packets (no decoding); raise :class:`AudioError` if it can't be used."""
    import av

    if not path.exists():
        raise AudioError(f"{path}: no such file; check the name and folder")
    if path.stat().st_size == 0:
        raise AudioError(f"{path.name}: the file is empty (0 bytes); record again or choose another file")
    try:
        container = av.open(str(path))
    except Exception as exc:  # PyAV raises many kinds for what isn't a media file
        raise AudioError(
            f"{path.name}: this is not a recording that can be read ({type(exc).__name__}); "
            "use wav, flac, mp3, m4a, ogg or webm"
        ) from exc
    with container:
        if not container.streams.audio:
            raise AudioError(f"{path.name}: the file has no sound track; choose the audio recording")
        stream = container.streams.audio[0]
        declared = _wav_header_seconds(path) or _declared_seconds(container, stream)
        end = 0.0
        try:
            for packet in container.demux(stream):
                if packet.pts is not None and packet.time_base is not None:
                    end = max(end, float((packet.pts + (packet.duration or 0)) * packet.time_base))
        except Exception as exc:
            raise _cut_off(path, end, declared) from exc
        info = AudioFile(
            path=path,
            duration=end or declared or 0.0,
            channels=stream.codec_context.channels or 1,
            sample_rate=stream.codec_context.sample_rate or SAMPLE_RATE,
            codec=stream.codec_context.name,
        )
    if info.duration <= 0:
        raise AudioError(f"{path.name}: the file holds no audio; record again or choose another file")
    if declared and end and end < declared * TRUNCATION_TOLERANCE - 0.5:
        raise _cut_off(path, end, declared)
    if info.duration > max_seconds:
        raise AudioError(
            f"{path.name}: {info.duration / 60:.0f} minutes of audio is over the limit of "
            f"{max_seconds / 60:.0f} minutes; split the recording or raise RECONNECT_MAX_AUDIO_MINUTES"
        )
    return info


def _declared_seconds(container: object, stream: object) -> float | None:
    """The length the file's header claims, if it claims one."""
    duration = getattr(stream, "duration", None)
    time_base = getattr(stream, "time_base", None)
    if duration and time_base:
        return float(duration * time_base)
    whole = getattr(container, "duration", None)
    return whole / 1_000_000 if whole else None


def _wav_header_seconds(path: Path) -> float | None:
    """A wav header's own length (FFmpeg works a wav's length out from the file size instead)."""
    import wave

    try:
        with wave.open(str(path), "rb") as header:
            frames, rate = header.getnframes(), header.getframerate()
            align = header.getnchannels() * header.getsampwidth()
    except (wave.Error, EOFError, OSError):
        return None
    seconds = frames / rate if rate else 0.0
    # Recorders still writing put 0 or 0xFFFFFFFF bytes in the header: no length claimed.
    return seconds if 0 < seconds < 24 * 3600 and frames * align < 0xFFFF_FFF0 else None


def _cut_off(path: Path, end: float, declared: float | None) -> AudioError:
    of = f" of {_minutes(declared)}" if declared else ""
    return AudioError(
        f"{path.name}: the recording stops early, at {_minutes(end)}{of}; the file looks cut off "
        "(truncated). Copy it again from the recorder, or upload it again once it has finished saving"
    )


def _decoded_blocks(info: AudioFile, stereo: bool) -> Iterator[np.ndarray]:
    """Decoded 16 kHz float32 blocks, shape (channels, n), straight from PyAV."""
    import av

    resampler = av.AudioResampler(format="fltp", layout="stereo" if stereo else "mono", rate=SAMPLE_RATE)
    decoded = 0
    with av.open(str(info.path)) as container:
        stream = container.streams.audio[0]
        try:
            for frame in container.decode(stream):
                frame.pts = None  # let the resampler keep its own clock
                for out in resampler.resample(frame):
                    block = out.to_ndarray()
                    decoded += block.shape[1]
                    yield block
            for out in resampler.resample(None):
                yield out.to_ndarray()
        except (av.error.InvalidDataError, av.error.EOFError, ValueError) as exc:
            raise _cut_off(info.path, decoded / SAMPLE_RATE, info.duration) from exc


def frame_rms(samples: np.ndarray) -> np.ndarray:
    """Loudness every 20 ms along the last axis (a partial last frame is dropped)."""
    usable = samples.shape[-1] // FRAME * FRAME
    framed = samples[..., :usable].reshape(*samples.shape[:-1], -1, FRAME)
    return np.sqrt(np.mean(np.square(framed, dtype=np.float64), axis=-1)).astype(np.float32)


def _quiet_cut(mono: np.ndarray, window: int) -> int:
    """Where to end a window: the quietest 20 ms frame in its last 30 s (or quarter), on a frame boundary."""
    search_from = max(0, window - int(min(CUT_SEARCH_S * SAMPLE_RATE, window / 4)))
    search_from -= search_from % FRAME
    rms = frame_rms(mono[search_from:window])
    if len(rms) == 0:
        return window
    return search_from + int(np.argmin(rms)) * FRAME


def read_chunks(info: AudioFile, window_s: float = 600.0) -> Iterator[AudioChunk]:
    """Windows of about ``window_s`` seconds, cut at quiet moments; memory stays at about one window."""
    stereo = info.channels == 2
    window = max(int(window_s * SAMPLE_RATE), SAMPLE_RATE)
    window -= window % FRAME
    pending: list[np.ndarray] = []
    pending_len = 0
    start = 0
    for block in _decoded_blocks(info, stereo):
        pending.append(block)
        pending_len += block.shape[1]
        while pending_len >= window + FRAME:
            buffer = np.concatenate(pending, axis=1)
            mono = buffer.mean(axis=0) if stereo else buffer[0]
            cut = _quiet_cut(mono, window)
            yield _chunk(start, buffer[:, :cut], stereo)
            start += cut
            pending, pending_len = [buffer[:, cut:]], buffer.shape[1] - cut
    if pending_len:
        yield _chunk(start, np.concatenate(pending, axis=1), stereo)


def _chunk(start: int, buffer: np.ndarray, stereo: bool) -> AudioChunk:
    mono = np.ascontiguousarray(buffer.mean(axis=0) if stereo else buffer[0], dtype=np.float32)
    return AudioChunk(
        start=start / SAMPLE_RATE,
        samples=mono,
        channels=np.ascontiguousarray(buffer, dtype=np.float32) if stereo else None,
    )
