"""The ``reconnect`` command. Thin: it parses arguments, calls the services and prints.

With ``--json`` every command prints exactly one JSON document on stdout (``ask
--batch`` prints one per line). A failure prints one line on stderr and exits
non-zero; never a traceback.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

import click

import assistant
from assistant.errors import BadInput, Interrupted, ReconnectError

F = TypeVar("F", bound=Callable[..., Any])


def emit(data: Any, as_json: bool, human: Callable[[Any], str] | None = None) -> None:
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, default=str))
    else:
        click.echo(human(data) if human else json.dumps(data, indent=2, ensure_ascii=False, default=str))


def friendly(func: F) -> F:
    """Turn every failure into one line on stderr and a non-zero exit."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except Interrupted as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(130)
        except ReconnectError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        except (click.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except KeyboardInterrupt:
            click.echo("error: interrupted; nothing was saved", err=True)
            sys.exit(130)
        except Exception as exc:  # the edge: anything else still gets one line
            if os.environ.get("RECONNECT_DEBUG"):
                raise
            click.echo(f"error: unexpected {type(exc).__name__}: {exc} (set RECONNECT_DEBUG=1 for details)", err=True)
            sys.exit(2)

    return wrapper  # type: ignore[return-value]


def services() -> Any:
    from assistant.services import get_services

    return get_services()


@click.group()
@click.version_option(assistant.__version__, prog_name="reconnect")
def main() -> None:
    """Reconnect Assistant: transcribe, redact, draft, signpost and review OT assessments."""


# ── transcribe ──────────────────────────────────────────────────────────────
@main.command()
@click.argument("audio", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the transcript as JSON.")
@friendly
def transcribe(audio: Path, as_json: bool) -> None:
    """Transcribe AUDIO (wav, flac, mp3, m4a, ogg, webm) on this machine."""
    # progress goes to stderr, never with --json: a bar on a terminal, else a line every 10 %
    bar_or_lines: Any = (
        _NoBar()
        if as_json
        else click.progressbar(length=100, label="transcribing", file=sys.stderr)
        if sys.stderr.isatty()
        else _PercentLines()
    )
    with bar_or_lines as bar:
        done = [0]

        def progress(fraction: float) -> None:
            step = int(fraction * 100) - done[0]
            if step > 0 or fraction == 0.0:  # 0.0 comes once the file is accepted
                bar.update(max(step, 0))
                done[0] += max(step, 0)

        transcript = services().transcribe(audio, progress=progress)
    for warning in transcript.warnings:
        click.echo(f"warning: {warning}", err=True)
    data = transcript.model_dump(mode="json")
    emit(
        {k: data[k] for k in ("text", "duration", "language", "model", "segments", "warnings")}
        | {"segments": [_contract_segment(s) for s in data["segments"]]},
        as_json,
        lambda d: "\n".join(f"[{s['start']:7.1f}] {s['speaker']}: {s['text']}" for s in d["segments"]),
    )


def _contract_segment(s: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in s.items() if v is not None}


class _NoBar:
    def __enter__(self) -> _NoBar:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, n: int) -> None:
        return None


class _PercentLines(_NoBar):
    """Progress for a log or a pipe: 'transcribing: 40%' on stderr at each 10 %."""

    def __init__(self) -> None:
        self.done = 0
        self.shown = -1

    def update(self, n: int) -> None:
        self.done += n
        tenth = self.done // 10 * 10
        if tenth > self.shown:
            self.shown = tenth
            click.echo(f"transcribing: {tenth}%", err=True)


# ── redact ──────────────────────────────────────────────────────────────────
def read_input(file: str) -> str:
    """The text exactly as given (CRLF kept), so that offsets point into the input."""
    if file == "-":
        raw = sys.stdin.buffer.read()
    else:
        path = Path(file)
        if not path.exists():
            raise BadInput(f"{file}: no such file")
        raw = path.read_bytes()
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInput(f"{file}: not UTF-8 text ({exc.reason} at byte {exc.start})") from exc


@main.command()
@click.argument("file", default="-")
@click.option("--known", multiple=True, help="A case detail that must always be redacted (repeatable).")
@click.option("--json", "as_json", is_flag=True)
@friendly
def redact(file: str, known: tuple[str, ...], as_json: bool) -> None:
    """Redact personal data from FILE (or - for standard input)."""
    text = read_input(file)
    result = services().redact(text, known=known)
    emit(result.model_dump(mode="json"), as_json, lambda d: d["text"])


# ── draft ───────────────────────────────────────────────────────────────────
def load_transcript(file: str) -> Any:
    from assistant.records import Transcript

    text = read_input(file)
    stripped = text.lstrip()
    if stripped.startswith("{"):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise BadInput(f"{file}: looks like JSON but does not parse ({exc})") from exc
        segments = data.get("segments")
        if not isinstance(segments, list):
            raise BadInput(f"{file}: JSON without a 'segments' list; give `reconnect transcribe --json` output")
        data.setdefault("duration", 0.0)
        data.setdefault("language", "en")
        data.setdefault("model", "unknown")
        data.setdefault("text", " ".join(s.get("text", "") for s in segments))
        return Transcript.model_validate(data)
    if not stripped:
        raise BadInput(f"{file}: the transcript is empty")
    return Transcript.from_text(text)


@main.command()
@click.argument("file", default="-")
@click.option("--template", default="ot_initial_assessment", show_default=True)
@click.option(
    "--known",
    multiple=True,
    help="A case detail (repeatable) that is always redacted before text goes to a configured model. "
    "The offline drafter keeps the words as said: its note stays on this machine.",
)
@click.option("--json", "as_json", is_flag=True)
@friendly
def draft(file: str, template: str, known: tuple[str, ...], as_json: bool) -> None:
    """Draft a note and SMART goals from FILE (plain text or `transcribe --json` output)."""
    result = services().draft(load_transcript(file), template=template, known=known)
    data = result.model_dump(mode="json")
    emit(data, as_json, _human_draft)


def _human_draft(d: dict[str, Any]) -> str:
    lines = []
    for s in d["sections"]:
        lines += [f"## {s['title']}", s["text"], ""]
    return "\n".join(lines)


# ── knowledge base ──────────────────────────────────────────────────────────
@main.group()
def kb() -> None:
    """The local activity directory."""


@kb.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--format", "fmt", type=click.Choice(["auto", "oruk", "openactive", "csv"]), default="auto")
@click.option("--json", "as_json", is_flag=True)
@friendly
def ingest(paths: tuple[Path, ...], fmt: str, as_json: bool) -> None:
    """Import directory feeds (ORUK 3.0 JSON/CSV, OpenActive RPDE, plain CSV)."""
    report = services().ingest(list(paths), fmt).as_json()
    emit(
        report,
        as_json,
        lambda r: (
            f"imported {r['imported']}, updated {r['updated']}, deleted {r['deleted']}, rejected {r['rejected']}"
            + (f", skipped {r['skipped']} (not activities)" if r.get("skipped") else "")
            + "".join(f"\n  rejected {x['id']} ({x['file']}): {x['reason']}" for x in r["reasons"])
        ),
    )


@kb.command()
@click.option("--json", "as_json", is_flag=True)
@friendly
def init(as_json: bool) -> None:
    """Index the bundled sample directory if the index is empty (run by `make run`)."""
    count = services().ensure_sample_directory()
    emit({"activities": count}, as_json, lambda d: f"{d['activities']} activities indexed")


@kb.command()
@click.option("--json", "as_json", is_flag=True)
@friendly
def stats(as_json: bool) -> None:
    """How many activities, by town and type, and where they came from."""
    svc = services()
    data = svc.index.stats() | {"sources": svc.store.sources()}
    emit(data, as_json)


# ── ask ─────────────────────────────────────────────────────────────────────
@main.command()
@click.argument("question", required=False)
@click.option("--k", default=None, type=click.IntRange(min=1), help="How many results at most.")
@click.option("--batch", type=click.Path(path_type=Path), help="A file with one question a line.")
@click.option("--json", "as_json", is_flag=True)
@friendly
def ask(question: str | None, k: int | None, batch: Path | None, as_json: bool) -> None:
    """Ask for local activities, e.g. "accessible swimming with a hoist near Colchester on Tuesday mornings"."""
    svc = services()
    if batch is not None:
        if not batch.exists():
            raise BadInput(f"{batch}: no such file")
        for line in batch.read_text(encoding="utf-8").splitlines():
            if line.strip():
                answer, _ = svc.ask(line.strip(), k)
                emit(answer.model_dump(mode="json"), as_json, lambda d: d["answer"] + "\n")
        return
    if not question or not question.strip():
        raise BadInput('give a question, e.g. reconnect ask "walking football in Chelmsford"')
    answer, _ = svc.ask(question, k)
    emit(answer.model_dump(mode="json"), as_json, lambda d: d["answer"])


# ── eval ────────────────────────────────────────────────────────────────────
@main.group(name="eval")
def eval_group() -> None:
    """Eval suites for evaluators."""


@eval_group.command(name="run")
@click.argument("suite", type=click.Path(path_type=Path))
@click.option("--compare", default=None, help="Two or more versions to compare, e.g. v1,v2.")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Where to write results.")
@click.option("--json", "as_json", is_flag=True)
@friendly
def eval_run(suite: Path, compare: str | None, out: Path | None, as_json: bool) -> None:
    """Run an eval SUITE (YAML in evals/) and exit non-zero if a threshold fails."""
    from assistant.evaluation.runner import run_suite

    report = run_suite(suite, compare=compare.split(",") if compare else None, out_dir=out)
    emit(report.as_json(), as_json, lambda _: report.summary())
    if not report.passed:
        sys.exit(1)


# ── audit, users, ui ────────────────────────────────────────────────────────
@main.group()
def audit() -> None:
    """The append-only, hash-chained audit trail."""


@audit.command()
@click.option("--json", "as_json", is_flag=True)
@friendly
def verify(as_json: bool) -> None:
    """Recompute the audit chain; exit 1 if any event was altered or removed."""
    ok, count, problem = services().store.verify_audit()
    emit(
        {"ok": ok, "events": count, "problem": problem},
        as_json,
        lambda d: f"audit trail intact: {d['events']} events" if d["ok"] else f"TAMPERED: {d['problem']}",
    )
    if not ok:
        sys.exit(1)


@main.group()
def users() -> None:
    """Accounts for the app."""


@users.command(name="add")
@click.argument("username")
@click.option("--role", type=click.Choice(["ot", "coordinator", "supervisor", "evaluator", "admin"]), required=True)
@click.option("--name", "display_name", default="", help="Display name.")
@click.password_option(help="Password (asked for if not given).")
@click.option("--json", "as_json", is_flag=True)
@friendly
def users_add(username: str, role: str, display_name: str, password: str, as_json: bool) -> None:
    """Create a user."""
    from assistant.accounts import add_user

    add_user(services().store, username, password, role, display_name)
    emit({"username": username, "role": role}, as_json, lambda d: f"added {d['username']} ({d['role']})")


@main.command()
@click.option("--port", default=8501, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--json", "as_json", is_flag=True, help='Print {"url": ...} on stdout before the app starts.')
def ui(port: int, host: str, as_json: bool) -> None:
    """Start the app in the browser."""
    from assistant.accounts import ensure_admin

    password = ensure_admin(services().store)
    if password:
        click.echo(
            f"First run: created user 'admin' with password {password}\n"
            "Sign in with it, then add people with `reconnect users add NAME --role ot` (this is shown once).",
            err=True,
        )
    url = f"http://{host}:{port}"
    emit({"url": url}, as_json, lambda d: f"Reconnect Assistant at {d['url']}")
    sys.stdout.flush()  # before exec replaces this process
    app = Path(__file__).resolve().parent.parent / "ui" / "app.py"
    os.execvp(
        sys.executable,
        [
            sys.executable,
            "-m",
            "streamlit",
            "run",
            str(app),
            "--server.address",
            host,
            "--server.port",
            str(port),
            "--server.headless",
            "true",
            "--browser.gatherUsageStats",
            "false",
            "--client.toolbarMode",
            "minimal",
        ],
    )


if __name__ == "__main__":
    main()
