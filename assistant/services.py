"""The services the CLI and the app call. Engines load lazily, once, behind factories
chosen by settings; the flow runs one way: transcribe → redact → draft → review,
and directory feeds → import → index → ask.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assistant.errors import EgressBlocked, Interrupted, ReconnectError
from assistant.records import Answer, Draft, Redaction, Segment, Transcript
from assistant.settings import Settings

log = logging.getLogger("reconnect.services")

KNOWLEDGE_DIR = Path(__file__).resolve().parent.parent / "knowledge"
SAMPLE_DIRECTORY = KNOWLEDGE_DIR / "sample-directory.json"
TOWNS_FILE = KNOWLEDGE_DIR / "towns.yaml"


@dataclass
class IngestReport:
    imported: int = 0
    updated: int = 0
    deleted: int = 0
    skipped: int = 0
    rejected: list[dict[str, str]] = field(default_factory=list)
    skipped_reasons: list[dict[str, str]] = field(default_factory=list)
    files: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "imported": self.imported,
            "updated": self.updated,
            "deleted": self.deleted,
            "skipped": self.skipped,
            "skipped_reasons": self.skipped_reasons,
            "rejected": len(self.rejected),
            "reasons": self.rejected,
            "files": self.files,
        }


class Services:
    """One per process. Thread-safe lazy construction of each engine."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._lock = threading.RLock()
        self._engines: dict[str, Any] = {}

    def _get(self, name: str, build: Any) -> Any:
        with self._lock:
            if name not in self._engines:
                self._engines[name] = build()
            return self._engines[name]

    # ── engines ─────────────────────────────────────────────────────────────
    @property
    def store(self) -> Any:
        from assistant.store import Store

        def build() -> Store:
            if self.settings.database_url is None:
                self.settings.ensure_home()
            return Store(self.settings.db_url)

        return self._get("store", build)

    @property
    def transcriber(self) -> Any:
        from assistant.transcription import make_transcriber

        return self._get("transcriber", lambda: make_transcriber(self.settings))

    @property
    def redactor(self) -> Any:
        from assistant.redaction import make_redactor

        return self._get("redactor", lambda: make_redactor(self.settings))

    @property
    def embedder(self) -> Any:
        from assistant.embedding import shared_embedder

        return self._get("embedder", shared_embedder)

    @property
    def index(self) -> Any:
        from assistant.signposting import ActivityIndex, load_towns, register

        def build() -> ActivityIndex:
            register()
            path = None if self.settings.chroma_url else self.settings.ensure_home() / "index"
            return ActivityIndex(path, self.embedder, towns=load_towns(TOWNS_FILE), url=self.settings.chroma_url)

        return self._get("index", build)

    def chat_model(self, known: Sequence[str] = (), carried: Sequence[str] = ()) -> Any:
        """The configured chat model (None offline), every payload checked by the egress guard first."""
        from assistant.chat import make_chat_model

        def guard(payload: str) -> None:
            from assistant.redaction import guard_egress

            try:
                guard_egress(self.redactor, payload, known, carried)
            except EgressBlocked as exc:
                self.store.audit("system", "egress_blocked", self.settings.provider, {"reason": str(exc)})
                raise

        return make_chat_model(self.settings, guard=guard)

    # ── the flow ────────────────────────────────────────────────────────────
    def transcribe(self, audio: Path, progress: Any = None, cancel: Any = None) -> Transcript:
        result: Transcript = self.transcriber.transcribe(audio, progress=progress, cancel=cancel)
        return result

    def transcribe_recording(
        self, assessment_id: str, filename: str, data: bytes, progress: Any = None
    ) -> tuple[Transcript, str]:
        """Transcribe an uploaded or recorded file for an assessment and save the transcript.

        The audio is kept under the data directory for ``keep_audio_days`` (0: deleted as soon
        as it is transcribed, or if transcription fails). Returns (transcript, transcript id).
        """
        import uuid
        from datetime import UTC, datetime, timedelta

        self.purge_expired_audio()
        days = self.settings.keep_audio_days
        folder = self.settings.ensure_home() / "audio"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{uuid.uuid4().hex}{Path(filename).suffix.lower() or '.wav'}"
        path.write_bytes(data)
        kept = False
        try:
            transcript = self.transcribe(path, progress=progress)
            recording_id = self.store.add_recording(
                assessment_id,
                Path(filename).name,
                str(path) if days > 0 else None,
                transcript.duration,
                datetime.now(UTC) + timedelta(days=days) if days > 0 else None,
            )
            kept = days > 0
            transcript_id = self.store.save_transcript(assessment_id, transcript.model_dump(mode="json"), recording_id)
        except ReconnectError as exc:
            # a message names the file it was given, here a made-up name in the data folder: name the upload instead
            named = Path(filename).name or "the recording"
            exc.args = (str(exc).replace(str(path), named).replace(path.name, named), *exc.args[1:])
            raise
        finally:
            if not kept:
                path.unlink(missing_ok=True)
        return transcript, transcript_id

    def purge_expired_audio(self) -> int:
        """Delete kept recordings whose time is up; returns how many were deleted."""
        from datetime import UTC, datetime

        due = self.store.recordings_due_for_deletion(datetime.now(UTC))
        for recording in due:
            Path(recording["path"]).unlink(missing_ok=True)
            self.store.forget_recording_file(recording["id"])
            self.store.audit("system", "audio_deleted", f"recording:{recording['id']}")
        return len(due)

    def keep_purging_audio(self, every_s: float = 600.0, stop: threading.Event | None = None) -> threading.Thread:
        """Purge expired audio every ``every_s`` seconds in a daemon thread, so a server left running
        deletes recordings when their time is up, not only when someone next transcribes."""
        stop = stop or threading.Event()

        def run() -> None:
            while not stop.wait(every_s):
                try:
                    self.purge_expired_audio()
                except Exception:  # the next round tries again; never kill the server for this
                    log.exception("purging expired audio failed")

        thread = threading.Thread(target=run, name="audio-retention", daemon=True)
        thread.start()
        return thread

    def redact(self, text: str, known: Sequence[str] = (), mapping: dict[str, str] | None = None) -> Redaction:
        from assistant.redaction import Pseudonyms

        result: Redaction = self.redactor.redact(text, known=known, pseudonyms=Pseudonyms(mapping))
        return result

    def redact_transcript(
        self, transcript: Transcript, known: Sequence[str] = (), mapping: dict[str, str] | None = None
    ) -> tuple[Transcript, dict[str, str]]:
        """Redact with one pseudonym table, keeping segment ids and timings.

        The transcriber starts a segment at every pause, so "Yes, it's 943 476" and "5919." can be
        two segments: each run of one speaker's consecutive segments is redacted as one text and
        the placeholders go back into the segments. Two passes: the first finds everyone the
        transcript names, the second redacts every segment with them known, so "Daniel" in the
        first line is redacted when only a later line says "my son Daniel" (people in ``mapping``,
        from an earlier transcript, are known too). The copy keeps none of the original words:
        Whisper's word timings and number-check notes are dropped from it.

        Each run is redacted with the line before it (the other speaker's), so a spelling given in
        answer to "How do you spell that?" is a name being given. When the redacting pass meets a
        name the first pass did not (a spelling of a carried person's name), it runs again, so
        every mention of everyone found is redacted, earlier ones included.
        """
        from assistant.redaction import Pseudonyms, redact_together, remembering

        runs = _speaker_runs(transcript.segments)
        befores = [""] + [" ".join(s.text for s in run) for run in runs[:-1]]
        with remembering(self.redactor):
            found = Pseudonyms(mapping)
            for run, before in zip(runs, befores, strict=True):  # first pass: who is named anywhere, in order
                redact_together(self.redactor, [s.text for s in run], known, found, before)
            for _ in range(3):
                pseudonyms = Pseudonyms(found.mapping)
                segments = []
                for run, before in zip(runs, befores, strict=True):
                    texts = redact_together(self.redactor, [s.text for s in run], known, pseudonyms, before)
                    segments += [
                        s.model_copy(update={"text": text, "words": None, "review_reason": None})
                        for s, text in zip(run, texts, strict=True)
                    ]
                if pseudonyms.mapping == found.mapping:
                    break
                found = pseudonyms
        redacted = transcript.model_copy(update={"segments": segments, "text": " ".join(s.text for s in segments)})
        return redacted, pseudonyms.mapping

    def draft(
        self,
        transcript: Transcript,
        template: str = "ot_initial_assessment",
        known: Sequence[str] = (),
        assessment_id: str | None = None,
    ) -> Draft:
        """Draft from a transcript; a remote model only ever sees the redacted copy.

        With an assessment, its stored pseudonym map is used and saved back, so a placeholder
        names the same person in the transcript view, the draft and the re-identified export.

        The egress guard holds the case's known identifiers, matched however they are written, and
        the people redaction found (:func:`~assistant.redaction.carried_names`: their name-like words
        only, "Grace" of "Grace Church", never "I've" or "Bowls Club"), matched as whole words with
        their case: a found name left in the text is refused, "He" is not "Heather".
        """
        from assistant.drafting import ModelDrafter, OfflineDrafter
        from assistant.redaction import Pseudonyms, carried_names
        from assistant.templates import load_template

        spec = load_template(template)
        carried: list[str] = []  # filled once the transcript is redacted; the guard reads it when the model is called
        chat = self.chat_model(list(known), carried)
        if chat is None:
            return OfflineDrafter(self.embedder).draft(transcript, spec)
        stored = self.store.redaction_map(assessment_id) if assessment_id else None
        redacted, mapping = self.redact_transcript(transcript, known, stored)
        if assessment_id:
            self.store.save_redaction_map(assessment_id, mapping)
        carried += carried_names(Pseudonyms(mapping).people(), known)
        return ModelDrafter(chat).draft(redacted, spec)

    # ── directory ───────────────────────────────────────────────────────────
    def ingest(self, paths: Sequence[Path], fmt: str = "auto") -> IngestReport:
        from assistant.directory import import_path

        report = IngestReport()
        existing = self.index.ids()
        # read every file first: a feed that cannot be read stops the import before anything is written
        results = [(path, import_path(Path(path), fmt)) for path in paths]  # type: ignore[arg-type]
        for done, (path, result) in enumerate(results):
            new = [a for a in result.activities if a.id not in existing]
            try:
                self.index.upsert(result.activities)
                deleted = self.index.delete(result.deleted)
            except KeyboardInterrupt:
                # the index is written in batches, so part of this file may be in it: say so, and how to finish
                raise Interrupted(
                    f"interrupted while writing {Path(path).name} ({done} of {len(results)} files written before it); "
                    "the directory may hold part of that file. Run the same import again to finish: re-importing "
                    "updates records in place"
                ) from None
            existing |= {a.id for a in result.activities}
            report.imported += len(new)
            report.updated += len(result.activities) - len(new)
            report.deleted += deleted
            report.skipped += len(result.skipped)
            report.skipped_reasons += [{"file": Path(path).name, **r} for r in result.skipped]
            report.rejected += [{"file": Path(path).name, **r} for r in result.rejected]
            counts = {
                "imported": len(new),
                "updated": len(result.activities) - len(new),
                "deleted": deleted,
                "rejected": len(result.rejected),
                "skipped": len(result.skipped),
            }
            report.files.append({"path": str(path), "format": result.format, **counts})
            self.store.record_source(str(path), result.format, counts)
        return report

    def ensure_sample_directory(self) -> int:
        """Index the bundled sample directory the first time the app starts on an empty index."""
        if self.index.count() == 0 and SAMPLE_DIRECTORY.exists():
            self.ingest([SAMPLE_DIRECTORY], "oruk")
        return int(self.index.count())

    def ask(
        self, question: str, k: int | None = None, context: Any = None, known: Sequence[str] = ()
    ) -> tuple[Answer, Any]:
        """Signposting for ``question``; with a model, the question reaches it redacted, ``known`` (the case's
        details, when asked from an assessment) always among what is redacted."""
        from assistant.redaction import Pseudonyms
        from assistant.signposting import Signposter

        try:  # with a model the answer is a short grounded summary; offline (or misconfigured) it is templated
            chat = self.chat_model(known)
        except ReconnectError as exc:
            log.warning("signposting answers are templated: %s", exc)
            chat = None
        if chat is None:
            return Signposter(self.index, chat=None).ask(question, k or self.settings.default_k, context=context)
        # the question is read here as typed (its town or postcode included), but goes into the model's prompt
        # redacted: "something for Margaret Okafor" is sent as "[PERSON_1]" (the answer needs no re-identifying:
        # one that cites anything but the listed activities is not used)
        pseudonyms = Pseudonyms()

        def redact(text: str) -> str:
            return self.redactor.redact(text, known, pseudonyms=pseudonyms).text

        return Signposter(self.index, chat=chat, redact=redact).ask(
            question, k or self.settings.default_k, context=context
        )


def _speaker_runs(segments: Sequence[Segment]) -> list[list[Segment]]:
    """Consecutive segments of one speaker: the pieces of one turn, cut at pauses by the transcriber."""
    runs: list[list[Segment]] = []
    for segment in segments:
        if runs and runs[-1][-1].speaker == segment.speaker:
            runs[-1].append(segment)
        else:
            runs.append([segment])
    return runs


_services: Services | None = None
_services_lock = threading.Lock()


def get_services(settings: Settings | None = None) -> Services:
    global _services
    with _services_lock:
        if _services is None or (settings is not None and _services.settings is not settings):
            from assistant.settings import get_settings

            _services = Services(settings or get_settings())
        return _services
