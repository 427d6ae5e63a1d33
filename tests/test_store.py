"""The store: migrations, SQLite pragmas, drafts with optimistic concurrency, autosave, audit chain."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from assistant.errors import ConflictError, StoreError
from assistant.store import MIGRATIONS, Store


@pytest.fixture
def store(tmp_path: Path) -> Store:
    return Store(f"sqlite:///{tmp_path / 'r.db'}")


def test_when_opened_then_every_migration_is_recorded_once(store: Store, tmp_path: Path) -> None:
    assert store.applied_migrations() == sorted(name for name, _ in MIGRATIONS)
    again = Store(f"sqlite:///{tmp_path / 'r.db'}")
    assert again.migrate() == []


def test_when_sqlite_then_wal_and_foreign_keys_are_on(store: Store) -> None:
    with store.tx() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA foreign_keys")).scalar() == 1


def test_when_the_directory_is_missing_then_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match="cannot open the store"):
        Store(f"sqlite:///{tmp_path / 'missing' / 'deeper' / 'r.db'}")


def test_when_a_transcript_is_saved_then_it_reads_back_with_segments(store: Store) -> None:
    aid = store.create_assessment("REF-1", "sam", {"name": "Margaret Ellis"})
    transcript = {
        "model": "whisper-base",
        "language": "en",
        "duration": 12.0,
        "warnings": [],
        "segments": [
            {"id": 0, "start": 0.0, "end": 4.0, "text": "Hello.", "speaker": "OT", "speaker_inferred": True},
            {
                "id": 1,
                "start": 4.0,
                "end": 9.0,
                "text": "Hi there.",
                "speaker": "client",
                "speaker_inferred": True,
                "avg_logprob": -0.2,
            },
        ],
    }
    tid = store.save_transcript(aid, transcript)
    store.set_speaker(tid, 1, "other")
    back = store.latest_transcript(aid)
    assert back is not None
    assert [s["text"] for s in back["segments"]] == ["Hello.", "Hi there."]
    assert back["segments"][1]["speaker"] == "other" and back["segments"][1]["speaker_inferred"] is False
    assert back["segments"][1]["avg_logprob"] == -0.2


def test_when_two_people_save_from_the_same_version_then_the_second_gets_a_conflict(store: Store) -> None:
    aid = store.create_assessment("REF-2", "sam", {})
    did = store.create_draft(aid, "ot_initial_assessment", {"text": "v1"}, "sam")
    assert store.save_version(did, {"text": "sam's edit"}, "sam", base_version=1) == 2
    with pytest.raises(ConflictError, match="sam saved version 2"):
        store.save_version(did, {"text": "jo's edit"}, "jo", base_version=1)
    assert store.draft(did)["content"] == {"text": "sam's edit"}
    assert [v["version"] for v in store.versions(did)] == [1, 2]


def test_when_saves_race_in_threads_then_exactly_one_wins(store: Store) -> None:
    aid = store.create_assessment("REF-3", "sam", {})
    did = store.create_draft(aid, "ot_initial_assessment", {"text": "v1"}, "sam")
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def save(who: str) -> None:
        barrier.wait()
        try:
            store.save_version(did, {"text": who}, who, base_version=1)
            outcomes.append("won")
        except ConflictError:
            outcomes.append("conflict")

    threads = [threading.Thread(target=save, args=(f"user{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["conflict", "conflict", "conflict", "won"]
    assert store.draft(did)["version"] == 2


def test_when_signed_off_then_the_note_is_locked(store: Store) -> None:
    aid = store.create_assessment("REF-4", "sam", {})
    did = store.create_draft(aid, "ot_initial_assessment", {"text": "v1"}, "sam")
    for step, to in (("submit", "submitted"), ("approve", "approved"), ("sign_off", "signed_off")):
        store.move_draft(
            did,
            from_status=store.draft(did)["status"],
            version=1,
            to_status=to,
            reviewer="lee",
            decisions=[(step, "", None)],
        )
    with pytest.raises(ConflictError, match="signed off and locked"):
        store.save_version(did, {"text": "late edit"}, "sam", base_version=1)
    assert store.draft(did)["signed_off_by"] == "lee"


def test_when_the_process_dies_then_the_autosave_is_still_there(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'r.db'}"
    first = Store(url)
    aid = first.create_assessment("REF-5", "sam", {})
    did = first.create_draft(aid, "ot_initial_assessment", {"text": "v1"}, "sam")
    first.autosave(did, "sam", 1, {"text": "half-typed sentence"})
    first.engine.dispose()  # no clean shutdown beyond dropping the connections
    reopened = Store(url)
    saved = reopened.autosaved(did, "sam")
    assert saved is not None and saved["content"] == {"text": "half-typed sentence"} and saved["base_version"] == 1


def test_when_an_audit_row_is_edited_by_hand_then_verify_fails(store: Store) -> None:
    for i in range(5):
        store.audit("sam", "view", f"assessment-{i}", {"n": i})
    assert store.verify_audit() == (True, 5, "")
    with store.tx() as conn:
        conn.execute(text("UPDATE audit_events SET actor = 'mallory' WHERE seq = 3"))
    ok, _, problem = store.verify_audit()
    assert not ok and "event 3" in problem


def test_when_an_audit_row_is_deleted_then_verify_fails(store: Store) -> None:
    for i in range(4):
        store.audit("sam", "edit", f"draft-{i}")
    with store.tx() as conn:
        conn.execute(text("DELETE FROM audit_events WHERE seq = 2"))
    ok, _, problem = store.verify_audit()
    assert not ok and "event 3" in problem


def test_when_the_queue_index_migration_runs_then_its_indexes_exist(store: Store) -> None:
    assert "m002_review_indexes" in store.applied_migrations()
    with store.tx() as conn:
        names = {r[0] for r in conn.execute(text("SELECT name FROM sqlite_master WHERE type = 'index'"))}
    assert {"ix_drafts_status", "ix_review_decisions_draft", "ix_recordings_delete_after"} <= names


def test_when_a_store_from_before_m002_opens_then_it_is_brought_up_to_date(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'old.db'}"
    old = Store(url)
    with old.tx() as conn:  # as the first release left it
        conn.execute(text("DELETE FROM migrations WHERE name = 'm002_review_indexes'"))
        conn.execute(text("DROP INDEX ix_drafts_status"))
    old.engine.dispose()
    assert Store(url).applied_migrations() == sorted(name for name, _ in MIGRATIONS)


def test_recordings_are_listed_newest_first_and_forgotten_files_keep_their_row(store: Store) -> None:
    from datetime import UTC, datetime, timedelta

    aid = store.create_assessment("REF-6", "sam", {})
    past = datetime.now(UTC) - timedelta(days=1)
    rid = store.add_recording(aid, "visit.flac", "/tmp/does-not-matter.flac", 11.0, past)
    assert [r["id"] for r in store.recordings_due_for_deletion(datetime.now(UTC))] == [rid]
    store.forget_recording_file(rid)
    (row,) = store.recordings_for(aid)
    assert row["path"] is None and row["filename"] == "visit.flac"
    assert store.recordings_due_for_deletion(datetime.now(UTC)) == []


def test_reconnect_audit_verify_exits_1_on_a_hand_edited_row(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    from assistant.settings import Settings

    home = tmp_path / "home"
    home.mkdir()
    store = Store(Settings(home=home).db_url)
    for i in range(3):
        store.audit("sam", "view", f"assessment:{i}")
    env = {**os.environ, "RECONNECT_HOME": str(home)}
    command = [sys.executable, "-m", "assistant.cli", "audit", "verify"]
    intact = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    assert intact.returncode == 0, intact.stderr
    assert intact.stdout.strip() == "audit trail intact: 3 events"

    with store.tx() as conn:  # someone edits the database by hand
        conn.execute(text("UPDATE audit_events SET subject = 'assessment:99' WHERE seq = 2"))
    tampered = subprocess.run([*command, "--json"], env=env, capture_output=True, text=True, check=False)
    assert tampered.returncode == 1
    assert '"ok": false' in tampered.stdout and "event 2 (view by sam) was altered or removed" in tampered.stdout


def test_when_events_are_audited_from_threads_at_once_then_the_chain_stays_whole(store: Store) -> None:
    barrier = threading.Barrier(4)

    def view(who: str) -> None:
        barrier.wait()
        for i in range(25):
            store.audit(who, "view", f"assessment-{i}")

    threads = [threading.Thread(target=view, args=(f"user{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.verify_audit() == (True, 100, "")


def test_a_reference_names_one_assessment_however_it_is_typed_and_however_many_create_it_at_once(
    store: Store,
) -> None:
    store.create_assessment("RC-2026-0142", "sam", {})
    for taken in ("RC-2026-0142", " rc-2026-0142 "):
        with pytest.raises(StoreError, match="reference RC-2026-0142 already exists"):
            store.create_assessment(taken, "alex", {})
    with pytest.raises(StoreError, match="needs a reference"):
        store.create_assessment("  ", "sam", {})
    assert store.create_assessment(" RC-2026-0143 ", "sam", {})  # stored without the spaces
    barrier, made, refused = threading.Barrier(4), [], []

    def create(who: str) -> None:
        barrier.wait()
        try:
            made.append(store.create_assessment("RC-SAME", who, {}))
        except StoreError:
            refused.append(who)

    threads = [threading.Thread(target=create, args=(f"ot{n}",)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(made) == 1 and len(refused) == 3
    assert sorted(a["reference"] for a in store.list_assessments()) == ["RC-2026-0142", "RC-2026-0143", "RC-SAME"]


def test_times_read_back_in_utc_with_their_zone_so_the_app_can_show_local_time(store: Store) -> None:
    aid = store.create_assessment("REF-6", "sam", {})
    did = store.create_draft(aid, "ot_initial_assessment", {"text": "v1"}, "sam")
    store.autosave(did, "sam", 1, {"text": "typing"})
    saved = store.autosaved(did, "sam")
    assert saved is not None
    when = saved["saved_at"]
    assert when.utcoffset() == timedelta(0) and abs(datetime.now(UTC) - when) < timedelta(minutes=1)
    assert store.draft(did)["updated_at"].tzinfo is not None


def test_version_stamps_are_the_versions_without_their_content(store: Store) -> None:
    aid = store.create_assessment("REF-7", "sam", {})
    did = store.create_draft(aid, "ot_initial_assessment", {"text": "v1"}, "sam")
    store.save_version(did, {"text": "v2"}, "jo", base_version=1, note="redrafted")
    stamps = store.version_stamps(did)
    assert [(s["version"], s["author"], s["note"]) for s in stamps] == [(1, "sam", "drafted"), (2, "jo", "redrafted")]
    assert all("content" not in s for s in stamps)
    full = store.versions(did)
    assert stamps == [{k: v[k] for k in ("version", "author", "note", "created_at")} for v in full]
    assert stamps[1]["created_at"].tzinfo is not None and stamps[0]["created_at"] <= stamps[1]["created_at"]
    assert store.version_stamps("no-such-draft") == []
    assert store.version(did, 2) == full[1] and store.version(did, 1)["content"] == {"text": "v1"}
    assert store.version(did, 3) is None and store.version("no-such-draft", 1) is None


def test_an_autosave_is_refused_once_the_note_cannot_be_edited_and_can_be_dropped(store: Store) -> None:
    aid = store.create_assessment("REF-AUTO", "sam", {})
    did = store.create_draft(aid, "ot_initial_assessment", {"text": "v1"}, "sam")
    store.autosave(did, "sam", 1, {"text": "typing"})
    store.autosave(did, "jo", 1, {"text": "jo typing"})
    store.drop_autosave(did, "sam")
    assert store.autosaved(did, "sam") is None and store.autosaved(did, "jo") is not None  # only sam's
    store.move_draft(did, from_status="draft", version=1, to_status="submitted", reviewer="sam", decisions=[])
    with pytest.raises(ConflictError, match="waiting for review, so it cannot be edited"):
        store.autosave(did, "sam", 1, {"text": "typed after it was submitted"})
    assert store.autosaved(did, "sam") is None
