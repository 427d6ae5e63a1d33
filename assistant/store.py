"""The local store: assessments, recordings, transcripts, redaction maps, drafts and
their versions, review decisions, the audit trail and activity sources.

SQLAlchemy Core over SQLite (WAL, foreign keys on) by default; PostgreSQL works by
URL. Schema changes are named, ordered migration functions recorded in the
``migrations`` table, so an old data directory is brought up to date on open.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    DateTime,
    Engine,
    Float,
    ForeignKey,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    create_engine,
    event,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import OperationalError

from assistant.errors import ConflictError, StoreError

metadata = MetaData()


class UTCDateTime(TypeDecorator[datetime]):
    """Stored in UTC; read back as an aware UTC datetime (SQLite forgets the zone), so the app can show local time."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        return value.astimezone(UTC) if value is not None and value.tzinfo is not None else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def now() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return uuid.uuid4().hex[:12]


migrations_table = Table(
    "migrations",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("applied_at", UTCDateTime(), nullable=False),
)
users = Table(
    "users",
    metadata,
    Column("username", String(80), primary_key=True),
    Column("display_name", String(200), nullable=False),
    Column("role", String(20), nullable=False),
    Column("password_hash", String(200), nullable=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", UTCDateTime(), nullable=False),
)
assessments = Table(
    "assessments",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("reference", String(80), nullable=False),
    Column("ot", String(80), nullable=False),
    Column("status", String(30), nullable=False, default="open"),
    Column("case_details", JSON, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)
recordings = Table(
    "recordings",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("assessment_id", String(32), ForeignKey("assessments.id", ondelete="CASCADE"), nullable=False),
    Column("filename", String(300), nullable=False),
    Column("path", Text, nullable=True),
    Column("duration", Float, nullable=True),
    Column("delete_after", UTCDateTime(), nullable=True),
    Column("created_at", UTCDateTime(), nullable=False),
)
transcripts = Table(
    "transcripts",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("assessment_id", String(32), ForeignKey("assessments.id", ondelete="CASCADE"), nullable=False),
    Column("recording_id", String(32), ForeignKey("recordings.id", ondelete="SET NULL"), nullable=True),
    Column("model", String(100), nullable=False),
    Column("language", String(10), nullable=False),
    Column("duration", Float, nullable=False),
    Column("warnings", JSON, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)
segments = Table(
    "segments",
    metadata,
    Column("transcript_id", String(32), ForeignKey("transcripts.id", ondelete="CASCADE"), primary_key=True),
    Column("idx", Integer, primary_key=True),
    Column("start", Float, nullable=False),
    Column("end", Float, nullable=False),
    Column("speaker", String(20), nullable=False),
    Column("speaker_inferred", Boolean, nullable=False),
    Column("text", Text, nullable=False),
    Column("extra", JSON, nullable=False),
)
redaction_maps = Table(
    "redaction_maps",
    metadata,
    Column("assessment_id", String(32), ForeignKey("assessments.id", ondelete="CASCADE"), primary_key=True),
    Column("mapping", JSON, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
)
drafts = Table(
    "drafts",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("assessment_id", String(32), ForeignKey("assessments.id", ondelete="CASCADE"), nullable=False),
    Column("template", String(80), nullable=False),
    Column("status", String(30), nullable=False),
    Column("version", Integer, nullable=False),
    Column("updated_at", UTCDateTime(), nullable=False),
    Column("updated_by", String(80), nullable=False),
    Column("signed_off_by", String(80), nullable=True),
    Column("signed_off_at", UTCDateTime(), nullable=True),
)
draft_versions = Table(
    "draft_versions",
    metadata,
    Column("draft_id", String(32), ForeignKey("drafts.id", ondelete="CASCADE"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("content", JSON, nullable=False),
    Column("author", String(80), nullable=False),
    Column("note", Text, nullable=False, default=""),
    Column("created_at", UTCDateTime(), nullable=False),
)
autosaves = Table(
    "autosaves",
    metadata,
    Column("draft_id", String(32), ForeignKey("drafts.id", ondelete="CASCADE"), primary_key=True),
    Column("author", String(80), primary_key=True),
    Column("base_version", Integer, nullable=False),
    Column("content", JSON, nullable=False),
    Column("saved_at", UTCDateTime(), nullable=False),
)
review_decisions = Table(
    "review_decisions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("draft_id", String(32), ForeignKey("drafts.id", ondelete="CASCADE"), nullable=False),
    Column("version", Integer, nullable=False),
    Column("reviewer", String(80), nullable=False),
    Column("decision", String(30), nullable=False),
    Column("section_id", String(80), nullable=True),
    Column("comment", Text, nullable=False, default=""),
    Column("created_at", UTCDateTime(), nullable=False),
)
audit_events = Table(
    "audit_events",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=True),
    Column("at", String(40), nullable=False),
    Column("actor", String(80), nullable=False),
    Column("action", String(40), nullable=False),
    Column("subject", String(120), nullable=False),
    Column("detail", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)
activity_sources = Table(
    "activity_sources",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("location", Text, nullable=False),
    Column("format", String(20), nullable=False),
    Column("counts", JSON, nullable=False),
    Column("imported_at", UTCDateTime(), nullable=False),
    UniqueConstraint("location", "imported_at"),
)


def _m001_initial(conn: Connection) -> None:
    metadata.create_all(conn, tables=[t for t in metadata.sorted_tables if t is not migrations_table])


def _m002_review_indexes(conn: Connection) -> None:
    """The review queue filters drafts by status; retention looks recordings up by expiry."""
    conn.exec_driver_sql("CREATE INDEX IF NOT EXISTS ix_drafts_status ON drafts (status, updated_at)")
    conn.exec_driver_sql("CREATE INDEX IF NOT EXISTS ix_review_decisions_draft ON review_decisions (draft_id)")
    conn.exec_driver_sql("CREATE INDEX IF NOT EXISTS ix_recordings_delete_after ON recordings (delete_after)")


MIGRATIONS: list[tuple[str, Callable[[Connection], None]]] = [
    ("m001_initial", _m001_initial),
    ("m002_review_indexes", _m002_review_indexes),
]

GENESIS = "0" * 64
EDITABLE = ("draft", "changes_requested")  # statuses in which a note's text may change
STATUS_WORDS = {
    "submitted": "waiting for review",
    "approved": "approved",
    "signed_off": "signed off",
    "draft": "a draft",
    "changes_requested": "back with the OT for changes",
}


def _audit_hash(prev_hash: str, at: str, actor: str, action: str, subject: str, detail: str) -> str:
    payload = json.dumps([prev_hash, at, actor, action, subject, detail], ensure_ascii=False)
    return hashlib.sha256(payload.encode()).hexdigest()


def _with_reference(conn: Connection, reference: str) -> dict[str, Any] | None:
    wanted = reference.strip().casefold()
    for row in conn.execute(select(assessments.c.id, assessments.c.reference, assessments.c.ot)).mappings():
        if row["reference"].strip().casefold() == wanted:
            return dict(row)
    return None


class Store:
    """Typed access to the store. One instance per process; thread-safe through SQLAlchemy's pool."""

    def __init__(self, url: str) -> None:
        self.url = url
        try:
            self.engine: Engine = create_engine(url, future=True)
        except Exception as exc:
            raise StoreError(f"cannot open the store at {url}: {exc}") from exc
        if url.startswith("sqlite"):
            event.listen(self.engine, "connect", _sqlite_pragmas)
        try:
            self.migrate()
        except OperationalError as exc:
            raise StoreError(f"cannot open the store at {url}: {exc.orig}; check RECONNECT_HOME") from exc

    # ── plumbing ────────────────────────────────────────────────────────────
    def _lock_for_write(self, conn: Connection, last: Any = None) -> None:
        """Take the write lock before a read that a write depends on. SQLite: the whole database (pysqlite only
        begins a transaction at the first write, after that read). Elsewhere: the row with the highest ``last``."""
        if self.engine.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")
        elif last is not None:
            conn.execute(select(last).order_by(last.desc()).limit(1).with_for_update())

    @contextmanager
    def tx(self) -> Iterator[Connection]:
        with self.engine.begin() as conn:
            yield conn

    def migrate(self) -> list[str]:
        applied: list[str] = []
        with self.tx() as conn:
            migrations_table.create(conn, checkfirst=True)
            done = set(conn.scalars(select(migrations_table.c.name)))
            for name, step in MIGRATIONS:
                if name not in done:
                    step(conn)
                    conn.execute(insert(migrations_table).values(name=name, applied_at=now()))
                    applied.append(name)
        return applied

    def applied_migrations(self) -> list[str]:
        with self.tx() as conn:
            return list(conn.scalars(select(migrations_table.c.name).order_by(migrations_table.c.name)))

    # ── assessments ─────────────────────────────────────────────────────────
    def create_assessment(self, reference: str, ot: str, case_details: dict[str, Any]) -> str:
        """A new open assessment. The reference is how OTs, coordinators and supervisors tell cases apart, so
        it must be given and not be another assessment's (spaces round it and letter case aside). On SQLite it is
        checked and inserted under the write lock, so two OTs creating one reference at once cannot both succeed."""
        reference = reference.strip()
        if not reference:
            raise StoreError("an assessment needs a reference")
        assessment_id = new_id()
        with self.tx() as conn:
            self._lock_for_write(conn)
            other = _with_reference(conn, reference)
            if other is not None:
                raise StoreError(f"an assessment with reference {other['reference'].strip()} already exists")
            conn.execute(
                insert(assessments).values(
                    id=assessment_id,
                    reference=reference,
                    ot=ot,
                    status="open",
                    case_details=case_details,
                    created_at=now(),
                    updated_at=now(),
                )
            )
        return assessment_id

    def assessment_with_reference(self, reference: str) -> dict[str, Any] | None:
        """The assessment this reference names (spaces round it and letter case aside), or None."""
        with self.tx() as conn:
            return _with_reference(conn, reference)

    def assessment(self, assessment_id: str) -> dict[str, Any]:
        with self.tx() as conn:
            row = conn.execute(select(assessments).where(assessments.c.id == assessment_id)).mappings().first()
        if row is None:
            raise StoreError(f"no assessment with id {assessment_id}")
        return dict(row)

    def list_assessments(self, ot: str | None = None) -> list[dict[str, Any]]:
        query = select(assessments).order_by(assessments.c.updated_at.desc())
        if ot:
            query = query.where(assessments.c.ot == ot)
        with self.tx() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    # ── recordings and transcripts ──────────────────────────────────────────
    def add_recording(
        self,
        assessment_id: str,
        filename: str,
        path: str | None,
        duration: float | None,
        delete_after: datetime | None,
    ) -> str:
        recording_id = new_id()
        with self.tx() as conn:
            conn.execute(
                insert(recordings).values(
                    id=recording_id,
                    assessment_id=assessment_id,
                    filename=filename,
                    path=path,
                    duration=duration,
                    delete_after=delete_after,
                    created_at=now(),
                )
            )
        return recording_id

    def recordings_due_for_deletion(self, at: datetime) -> list[dict[str, Any]]:
        with self.tx() as conn:
            rows = conn.execute(
                select(recordings).where(recordings.c.path.is_not(None), recordings.c.delete_after <= at)
            ).mappings()
            return [dict(r) for r in rows]

    def recordings_for(self, assessment_id: str) -> list[dict[str, Any]]:
        with self.tx() as conn:
            rows = conn.execute(
                select(recordings)
                .where(recordings.c.assessment_id == assessment_id)
                .order_by(recordings.c.created_at.desc())
            ).mappings()
            return [dict(r) for r in rows]

    def forget_recording_file(self, recording_id: str) -> None:
        with self.tx() as conn:
            conn.execute(update(recordings).where(recordings.c.id == recording_id).values(path=None))

    def save_transcript(self, assessment_id: str, transcript: dict[str, Any], recording_id: str | None = None) -> str:
        """Save a transcript and its segments in one transaction: all or nothing."""
        transcript_id = new_id()
        with self.tx() as conn:
            conn.execute(
                insert(transcripts).values(
                    id=transcript_id,
                    assessment_id=assessment_id,
                    recording_id=recording_id,
                    model=transcript["model"],
                    language=transcript["language"],
                    duration=transcript["duration"],
                    warnings=transcript.get("warnings", []),
                    created_at=now(),
                )
            )
            rows = [
                {
                    "transcript_id": transcript_id,
                    "idx": s["id"],
                    "start": s["start"],
                    "end": s["end"],
                    "speaker": s.get("speaker", "unknown"),
                    "speaker_inferred": s.get("speaker_inferred", True),
                    "text": s["text"],
                    "extra": {
                        k: v
                        for k, v in s.items()
                        if k not in {"id", "start", "end", "speaker", "speaker_inferred", "text"}
                    },
                }
                for s in transcript["segments"]
            ]
            if rows:
                conn.execute(insert(segments), rows)
        return transcript_id

    def latest_transcript(self, assessment_id: str, as_of: datetime | None = None) -> dict[str, Any] | None:
        """The assessment's current transcript, or the one that was current at ``as_of`` (before a replacement)."""
        query = select(transcripts).where(transcripts.c.assessment_id == assessment_id)
        if as_of is not None:
            query = query.where(transcripts.c.created_at <= as_of)
        with self.tx() as conn:
            head = conn.execute(query.order_by(transcripts.c.created_at.desc()).limit(1)).mappings().first()
            if head is None:
                return None
            rows = conn.execute(
                select(segments).where(segments.c.transcript_id == head["id"]).order_by(segments.c.idx)
            ).mappings()
            segs = [
                {
                    "id": r["idx"],
                    "start": r["start"],
                    "end": r["end"],
                    "text": r["text"],
                    "speaker": r["speaker"],
                    "speaker_inferred": r["speaker_inferred"],
                    **r["extra"],
                }
                for r in rows
            ]
        return {
            "id": head["id"],
            "text": " ".join(s["text"] for s in segs),
            "duration": head["duration"],
            "language": head["language"],
            "model": head["model"],
            "segments": segs,
            "warnings": head["warnings"],
        }

    def set_speaker(self, transcript_id: str, idx: int, speaker: str) -> None:
        """The OT corrects a label: it is no longer inferred."""
        with self.tx() as conn:
            conn.execute(
                update(segments)
                .where(segments.c.transcript_id == transcript_id, segments.c.idx == idx)
                .values(speaker=speaker, speaker_inferred=False)
            )

    # ── redaction map (local only) ──────────────────────────────────────────
    def redaction_map(self, assessment_id: str) -> dict[str, str]:
        with self.tx() as conn:
            row = conn.execute(
                select(redaction_maps.c.mapping).where(redaction_maps.c.assessment_id == assessment_id)
            ).first()
        return dict(row[0]) if row else {}

    def save_redaction_map(self, assessment_id: str, mapping: dict[str, str]) -> None:
        with self.tx() as conn:
            exists = conn.execute(
                select(redaction_maps.c.assessment_id).where(redaction_maps.c.assessment_id == assessment_id)
            ).first()
            if exists:
                conn.execute(
                    update(redaction_maps)
                    .where(redaction_maps.c.assessment_id == assessment_id)
                    .values(mapping=mapping, updated_at=now())
                )
            else:
                conn.execute(
                    insert(redaction_maps).values(assessment_id=assessment_id, mapping=mapping, updated_at=now())
                )

    # ── drafts, versions, autosave ──────────────────────────────────────────
    def create_draft(self, assessment_id: str, template: str, content: dict[str, Any], author: str) -> str:
        draft_id = new_id()
        with self.tx() as conn:
            conn.execute(
                insert(drafts).values(
                    id=draft_id,
                    assessment_id=assessment_id,
                    template=template,
                    status="draft",
                    version=1,
                    updated_at=now(),
                    updated_by=author,
                )
            )
            conn.execute(
                insert(draft_versions).values(
                    draft_id=draft_id,
                    version=1,
                    content=content,
                    author=author,
                    note="drafted",
                    created_at=now(),
                )
            )
        return draft_id

    def draft(self, draft_id: str) -> dict[str, Any]:
        with self.tx() as conn:
            row = conn.execute(select(drafts).where(drafts.c.id == draft_id)).mappings().first()
            if row is None:
                raise StoreError(f"no draft with id {draft_id}")
            content = conn.execute(
                select(draft_versions.c.content).where(
                    draft_versions.c.draft_id == draft_id, draft_versions.c.version == row["version"]
                )
            ).scalar_one()
        return {**dict(row), "content": content}

    def drafts_for(self, assessment_id: str) -> list[dict[str, Any]]:
        with self.tx() as conn:
            rows = conn.execute(
                select(drafts).where(drafts.c.assessment_id == assessment_id).order_by(drafts.c.updated_at.desc())
            ).mappings()
            return [dict(r) for r in rows]

    def list_drafts(self, status: str | None = None) -> list[dict[str, Any]]:
        query = (
            select(drafts, assessments.c.reference, assessments.c.ot)
            .join(assessments, assessments.c.id == drafts.c.assessment_id)
            .order_by(drafts.c.updated_at)
        )
        if status:
            query = query.where(drafts.c.status == status)
        with self.tx() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def versions(self, draft_id: str) -> list[dict[str, Any]]:
        with self.tx() as conn:
            rows = conn.execute(
                select(draft_versions).where(draft_versions.c.draft_id == draft_id).order_by(draft_versions.c.version)
            ).mappings()
            return [dict(r) for r in rows]

    def version(self, draft_id: str, version: int) -> dict[str, Any] | None:
        """One version of a draft (its content, author, note and time), or None when it has no such version."""
        c = draft_versions.c
        with self.tx() as conn:
            row = conn.execute(select(draft_versions).where(c.draft_id == draft_id, c.version == version)).mappings()
            found = row.first()
            return dict(found) if found is not None else None

    def version_stamps(self, draft_id: str) -> list[dict[str, Any]]:
        """Each version's number, author, note and time, oldest first: ``versions`` without the (large) content."""
        c = draft_versions.c
        with self.tx() as conn:
            rows = conn.execute(
                select(c.version, c.author, c.note, c.created_at).where(c.draft_id == draft_id).order_by(c.version)
            ).mappings()
            return [dict(r) for r in rows]

    def save_version(
        self, draft_id: str, content: dict[str, Any], author: str, base_version: int, note: str = ""
    ) -> int:
        """Save a new version only if nobody saved since ``base_version`` and the note is open for editing.

        The checks and the write happen in one UPDATE ... WHERE version = base AND status
        is editable, so two people saving at once cannot both win, and nobody changes a
        note while it waits for review or after it was approved: the reviewer signs off
        exactly the version they read.
        """
        with self.tx() as conn:
            result = conn.execute(
                update(drafts)
                .where(drafts.c.id == draft_id, drafts.c.version == base_version, drafts.c.status.in_(EDITABLE))
                .values(version=base_version + 1, updated_at=now(), updated_by=author)
            )
            if result.rowcount != 1:
                current = conn.execute(
                    select(drafts.c.status, drafts.c.version, drafts.c.updated_by).where(drafts.c.id == draft_id)
                ).first()
                if current is None:
                    raise StoreError(f"no draft with id {draft_id}")
                if current.status not in EDITABLE:
                    raise ConflictError(_not_editable(current.status))
                raise ConflictError(
                    f"{current.updated_by} saved version {current.version} since you opened version {base_version}; "
                    "review their changes and merge before saving"
                )
            conn.execute(
                insert(draft_versions).values(
                    draft_id=draft_id,
                    version=base_version + 1,
                    content=content,
                    author=author,
                    note=note,
                    created_at=now(),
                )
            )
            conn.execute(autosaves.delete().where(autosaves.c.draft_id == draft_id, autosaves.c.author == author))
        return base_version + 1

    def autosave(self, draft_id: str, author: str, base_version: int, content: dict[str, Any]) -> None:
        """Keep unsaved typing per author; survives a crash of the app process.

        Only while the note is open for editing: typing that could never be saved is refused with
        ConflictError (the app keeps it on screen instead), so no autosave outlives the version it was for.
        """
        with self.tx() as conn:
            status = conn.execute(select(drafts.c.status).where(drafts.c.id == draft_id)).scalar()
            if status is None:
                raise StoreError(f"no draft with id {draft_id}")
            if status not in EDITABLE:
                raise ConflictError(_not_editable(status))
            conn.execute(autosaves.delete().where(autosaves.c.draft_id == draft_id, autosaves.c.author == author))
            conn.execute(
                insert(autosaves).values(
                    draft_id=draft_id,
                    author=author,
                    base_version=base_version,
                    content=content,
                    saved_at=now(),
                )
            )

    def autosaved(self, draft_id: str, author: str) -> dict[str, Any] | None:
        with self.tx() as conn:
            row = (
                conn.execute(select(autosaves).where(autosaves.c.draft_id == draft_id, autosaves.c.author == author))
                .mappings()
                .first()
            )
        return dict(row) if row else None

    def drop_autosave(self, draft_id: str, author: str) -> None:
        """Forget an author's unsaved typing (they discarded it)."""
        with self.tx() as conn:
            conn.execute(autosaves.delete().where(autosaves.c.draft_id == draft_id, autosaves.c.author == author))

    def move_draft(
        self,
        draft_id: str,
        *,
        from_status: str,
        version: int,
        to_status: str,
        reviewer: str,
        decisions: list[tuple[str, str, str | None]],
    ) -> None:
        """Move a draft between review statuses and record the decisions, in one transaction.

        Only if it is still at ``from_status`` and ``version``: a step taken on a note
        that somebody else moved or saved since it was read raises ConflictError, and
        nothing is written. ``decisions`` are (decision, comment, section id or None).
        """
        signed = to_status == "signed_off"  # an amended note no longer carries the old sign-off
        values: dict[str, Any] = {
            "status": to_status,
            "updated_at": now(),
            "signed_off_by": reviewer if signed else None,
            "signed_off_at": now() if signed else None,
        }
        with self.tx() as conn:
            moved = conn.execute(
                update(drafts)
                .where(drafts.c.id == draft_id, drafts.c.status == from_status, drafts.c.version == version)
                .values(**values)
            )
            if moved.rowcount != 1:
                current = conn.execute(select(drafts.c.status, drafts.c.version).where(drafts.c.id == draft_id)).first()
                if current is None:
                    raise StoreError(f"no draft with id {draft_id}")
                raise ConflictError(
                    f"the note changed since you read version {version}: it is now version {current.version}, "
                    f"{STATUS_WORDS.get(current.status, current.status)}; open it again and check before you decide"
                )
            for decision, comment, section_id in decisions:
                _insert_decision(conn, draft_id, version, reviewer, decision, comment, section_id)

    def decisions(self, draft_id: str) -> list[dict[str, Any]]:
        with self.tx() as conn:
            rows = conn.execute(
                select(review_decisions).where(review_decisions.c.draft_id == draft_id).order_by(review_decisions.c.id)
            ).mappings()
            return [dict(r) for r in rows]

    # ── audit trail: append-only, hash-chained ──────────────────────────────
    def audit(self, actor: str, action: str, subject: str, detail: dict[str, Any] | None = None) -> None:
        detail_text = json.dumps(detail or {}, sort_keys=True, ensure_ascii=False, default=str)
        at = now().isoformat()
        with self.tx() as conn:
            # take the write lock before reading the last hash, so two writers cannot chain onto the same one
            self._lock_for_write(conn, audit_events.c.seq)
            prev = conn.execute(select(audit_events.c.hash).order_by(audit_events.c.seq.desc()).limit(1)).scalar()
            prev_hash = prev or GENESIS
            conn.execute(
                insert(audit_events).values(
                    at=at,
                    actor=actor,
                    action=action,
                    subject=subject,
                    detail=detail_text,
                    prev_hash=prev_hash,
                    hash=_audit_hash(prev_hash, at, actor, action, subject, detail_text),
                )
            )

    def audit_events(self, limit: int | None = None) -> list[dict[str, Any]]:
        query = select(audit_events).order_by(audit_events.c.seq.desc())
        if limit:
            query = query.limit(limit)
        with self.tx() as conn:
            return [dict(r) for r in conn.execute(query).mappings()]

    def verify_audit(self) -> tuple[bool, int, str]:
        """Recompute the chain. Returns (ok, events checked, first problem)."""
        prev_hash = GENESIS
        count = 0
        with self.tx() as conn:
            for row in conn.execute(select(audit_events).order_by(audit_events.c.seq)).mappings():
                count += 1
                expected = _audit_hash(prev_hash, row["at"], row["actor"], row["action"], row["subject"], row["detail"])
                if row["prev_hash"] != prev_hash or row["hash"] != expected:
                    return (
                        False,
                        count,
                        f"event {row['seq']} ({row['action']} by {row['actor']}) was altered or removed",
                    )
                prev_hash = row["hash"]
        return True, count, ""

    # ── users ───────────────────────────────────────────────────────────────
    def add_user(self, username: str, display_name: str, role: str, password_hash: str) -> None:
        with self.tx() as conn:
            conn.execute(
                insert(users).values(
                    username=username,
                    display_name=display_name,
                    role=role,
                    password_hash=password_hash,
                    active=True,
                    created_at=now(),
                )
            )

    def user(self, username: str) -> dict[str, Any] | None:
        with self.tx() as conn:
            row = conn.execute(select(users).where(users.c.username == username)).mappings().first()
        return dict(row) if row else None

    def set_password_hash(self, username: str, password_hash: str) -> None:
        with self.tx() as conn:
            conn.execute(update(users).where(users.c.username == username).values(password_hash=password_hash))

    def count_users(self) -> int:
        with self.tx() as conn:
            return int(conn.execute(select(func.count()).select_from(users)).scalar_one())

    # ── activity sources ────────────────────────────────────────────────────
    def record_source(self, location: str, fmt: str, counts: dict[str, Any]) -> None:
        with self.tx() as conn:
            conn.execute(
                insert(activity_sources).values(location=location, format=fmt, counts=counts, imported_at=now())
            )

    def sources(self) -> list[dict[str, Any]]:
        with self.tx() as conn:
            rows = conn.execute(select(activity_sources).order_by(activity_sources.c.id)).mappings()
            return [dict(r) for r in rows]


def _not_editable(status: str) -> str:
    if status == "signed_off":
        return "this note is signed off and locked; amend it to start a new version"
    words = STATUS_WORDS.get(status, status)
    return f"this note is {words}, so it cannot be edited until the reviewer requests changes"


def _insert_decision(
    conn: Connection,
    draft_id: str,
    version: int,
    reviewer: str,
    decision: str,
    comment: str,
    section_id: str | None,
) -> None:
    conn.execute(
        insert(review_decisions).values(
            draft_id=draft_id,
            version=version,
            reviewer=reviewer,
            decision=decision,
            comment=comment,
            section_id=section_id,
            created_at=now(),
        )
    )


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()
