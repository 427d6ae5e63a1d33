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


JSON_HELP = "Print one JSON document on stdout (the contract in DESIGN.md); errors stay one line on stderr."
ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_IDS = sorted(p.stem for p in (ROOT / "prompts").glob("*.yaml"))  # each file's id is its name
SUITES = sorted(p.name for p in (ROOT / "evals").glob("*.yaml"))


def _one_line(exc: click.UsageError) -> click.UsageError:
    """Click's usage error as one line on stderr ("error: ... (see 'reconnect ask --help')"), exit code kept."""
    if isinstance(exc, click.exceptions.NoArgsIsHelpError):  # a bare group: its help is the answer
        return exc
    where = exc.ctx.command_path if exc.ctx is not None else "reconnect"

    def show(file: Any = None) -> None:
        click.echo(f"error: {exc.format_message()} (see '{where} --help')", file=file, err=file is None)

    exc.show = show  # type: ignore[method-assign]
    return exc


class Group(click.Group):
    """A command group whose usage errors (a bad option value, a missing argument) are one line."""

    group_class = type  # its subgroups are of this class too

    def make_context(
        self, info_name: str | None, args: list[str], parent: click.Context | None = None, **extra: Any
    ) -> click.Context:
        try:
            return super().make_context(info_name, args, parent, **extra)
        except click.UsageError as exc:
            _one_line(exc)
            raise

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except click.UsageError as exc:
            _one_line(exc)
            raise


@click.group(cls=Group)
@click.version_option(assistant.__version__, prog_name="reconnect")
def main() -> None:
    """Reconnect Assistant: transcribe, redact, draft, signpost and review OT assessments."""


# ── transcribe ──────────────────────────────────────────────────────────────
@main.command(short_help="Transcribe a recording on this machine.")
@click.argument("audio", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print the transcript as one JSON document on stdout.")
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
    raw = sys.stdin.buffer.read() if file == "-" else read_file(Path(file))
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadInput(f"{file}: not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8") from exc


def read_file(path: Path) -> bytes:
    """A file's bytes; a missing path, a folder or an unreadable file is one clear line."""
    if not path.exists():
        raise BadInput(f"{path}: no such file")
    if path.is_dir():
        raise BadInput(f"{path}: is a folder; give a file")
    try:
        return path.read_bytes()
    except OSError as exc:
        raise BadInput(f"{path}: cannot be read ({exc.strerror or exc})") from exc


@main.command()
@click.argument("file", default="-")
@click.option("--known", multiple=True, help="A case detail that must always be redacted (repeatable).")
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@friendly
def redact(file: str, known: tuple[str, ...], as_json: bool) -> None:
    """Redact personal data from FILE (or - for standard input)."""
    text = read_input(file)
    result = services().redact(text, known=known)
    emit(result.model_dump(mode="json"), as_json, lambda d: d["text"])


# ── draft ───────────────────────────────────────────────────────────────────
def load_transcript(file: str) -> Any:
    from pydantic import ValidationError

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
        for n, segment in enumerate(segments, 1):
            if not isinstance(segment, dict):
                raise BadInput(f"{file}: segment {n} is not an object with id, start, end, text and speaker")
        data.setdefault("duration", 0.0)
        data.setdefault("language", "en")
        data.setdefault("model", "unknown")
        data.setdefault("text", " ".join(str(s.get("text", "")) for s in segments))
        try:
            return Transcript.model_validate(data)
        except ValidationError as exc:
            raise BadInput(f"{file}: {transcript_problem(exc)}") from exc
    if not stripped:
        raise BadInput(f"{file}: the transcript is empty")
    return Transcript.from_text(text)


def transcript_problem(exc: Any) -> str:
    """A transcript's first validation error as one line: "segment 3: speaker 'Nurse' is not one of ..."."""
    errors = exc.errors()
    first = errors[0]
    loc = list(first["loc"])
    where = ""
    if len(loc) >= 2 and loc[0] == "segments" and isinstance(loc[1], int):
        where, loc = f"segment {loc[1] + 1}: ", loc[2:]  # counted from 1, as an editor counts
    name = ".".join(str(part) for part in loc) or "the transcript"
    given = first.get("input")
    if first["type"] == "missing":
        problem = f"'{name}' is missing"
    elif first["type"] == "extra_forbidden":
        problem = f"'{name}' is not a field of a transcript"
    elif name == "speaker":
        problem = f"speaker {given!r} is not one of OT, client, other, unknown"
    else:
        problem = f"{name} {given!r}: {first['msg'][:1].lower()}{first['msg'][1:]}"
    more = len(errors) - 1
    return where + problem + (f" (and {more} more problem{'s' if more > 1 else ''})" if more else "")


@main.command(short_help="Draft a note and SMART goals from a transcript.")
@click.argument("file", default="-")
@click.option(
    "--template",
    default="ot_initial_assessment",
    show_default=True,
    help="The note template: " + ", ".join(TEMPLATE_IDS) + " (an id@version picks a version).",
)
@click.option(
    "--known",
    multiple=True,
    help="A case detail (repeatable) that is always redacted before text goes to a configured model. "
    "The offline drafter keeps the words as said: its note stays on this machine.",
)
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
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


@kb.command(short_help="Import directory feeds (ORUK, OpenActive, plain CSV).")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["auto", "oruk", "openactive", "csv"]),
    default="auto",
    show_default=True,
    help="auto tells them apart; oruk: Open Referral UK 3.0 JSON, or its CSV folder (services.csv and the other "
    "tables); openactive: an OpenActive RPDE page (SessionSeries, ScheduledSession, FacilityUse); "
    "csv: a plain CSV with at least the columns id and name.",
)
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@friendly
def ingest(paths: tuple[Path, ...], fmt: str, as_json: bool) -> None:
    """Import directory feeds (ORUK 3.0 JSON/CSV, OpenActive RPDE, plain CSV).

    Re-importing updates records in place. A malformed record is rejected with its reason; a
    record that is not an activity (a taxonomy, a Place) or whose sessions have all ended is
    skipped and counted.
    """
    report = services().ingest(list(paths), fmt).as_json()
    emit(report, as_json, _human_ingest)


def _human_ingest(r: dict[str, Any]) -> str:
    line = f"imported {r['imported']}, updated {r['updated']}, deleted {r['deleted']}, rejected {r['rejected']}"
    if r.get("skipped"):
        line += f", skipped {r['skipped']} ({_skipped_kinds(r)})"
    return line + "".join(f"\n  rejected {x['id']} ({x['file']}): {x['reason']}" for x in r["reasons"])


def _skipped_kinds(r: dict[str, Any]) -> str:
    """What the skipped records were: "3 ended, 1 not an activity" when the report gives reasons."""
    reasons = r.get("skipped_reasons")
    if not reasons:
        return "sessions that have ended, or records that are not activities"
    ended = sum(1 for x in reasons if str(x.get("reason", "")).startswith("ended"))
    kinds = [f"{ended} ended"] if ended else []
    if len(reasons) > ended:
        kinds.append(f"{len(reasons) - ended} not {'an activity' if len(reasons) - ended == 1 else 'activities'}")
    return ", ".join(kinds)


@kb.command(short_help="Index the bundled sample directory if the index is empty.")
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@friendly
def init(as_json: bool) -> None:
    """Index the bundled sample directory if the index is empty (run by `make run`)."""
    count = services().ensure_sample_directory()
    emit({"activities": count}, as_json, lambda d: f"{d['activities']} activities indexed")


@kb.command()
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@friendly
def stats(as_json: bool) -> None:
    """How many activities, by town and type, and where they came from."""
    svc = services()
    data = svc.index.stats() | {"sources": svc.store.sources()}
    emit(data, as_json, _human_stats)


def _human_stats(d: dict[str, Any], top: int = 10) -> str:
    def counts(by: dict[str, int]) -> str:
        shown = ", ".join(f"{name} {n}" for name, n in list(by.items())[:top])
        rest = len(by) - top
        return shown + (f", and {rest} more" if rest > 0 else "") if by else "none"

    if not d["activities"]:
        lines = ["the directory is empty: `reconnect kb init` loads the sample, `reconnect kb ingest FEED` imports one"]
    else:
        lines = [
            f"{d['activities']} {'activity' if d['activities'] == 1 else 'activities'}",
            f"towns: {counts(d['towns'])}",
            f"activity types: {counts(d['activity_types'])}",
            f"from: {counts(d['from'])}",
        ]
    imports = d.get("sources") or []
    if imports:
        lines.append(f"imports ({len(imports)}, latest last):")
        for source in imports[-top:]:
            c = source.get("counts") or {}
            done = ", ".join(f"{k} {v}" for k, v in c.items() if v) or "nothing changed"
            when = str(source.get("imported_at") or "")[:16]
            lines.append(f"  {when}  {source.get('location')} ({source.get('format')}): {done}")
    return "\n".join(lines)


# ── ask ─────────────────────────────────────────────────────────────────────
EMPTY_DIRECTORY = (
    "the activity directory is empty: run `reconnect kb init` to load the bundled sample directory, "
    "or `reconnect kb ingest FEED...` to import your own"
)


@main.command(short_help="Find local activities that meet every constraint a question states.")
@click.argument("question", required=False)
@click.option("--k", default=None, type=click.IntRange(min=1), help="How many results at most.")
@click.option(
    "--batch",
    default=None,
    metavar="FILE",
    help="Answer a UTF-8 file of questions, one a line (- reads standard input), loading the models once: "
    "one answer per line, in order, a blank line answered as having no question; with --json, one JSON "
    "document per line, each echoing its question.",
)
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@friendly
def ask(question: str | None, k: int | None, batch: str | None, as_json: bool) -> None:
    """Find local activities that meet every constraint QUESTION states, e.g.

    \b
      reconnect ask "accessible swimming with a hoist near Colchester on Tuesday mornings"
      reconnect ask --json --batch questions.txt
    """
    if batch is not None and question is not None:
        raise click.UsageError(
            "give a QUESTION or --batch FILE, not both",
            ctx=click.get_current_context(),
        )
    if batch is None and (not question or not question.strip()):
        raise BadInput('give a question, e.g. reconnect ask "walking football in Chelmsford"')
    lines = read_input(batch).splitlines() if batch is not None else [question or ""]
    if lines and lines[0].startswith("\ufeff"):  # a byte-order mark from a Windows editor
        lines[0] = lines[0][1:]
    svc = services()
    if svc.index.count() == 0:
        raise BadInput(EMPTY_DIRECTORY)
    for number, line in enumerate(lines, 1):
        if not line.strip():
            data: dict[str, Any] = {
                "question": line,
                "answer": f"Line {number} has no question.",
                "results": [],
                "relaxations": [],
            }
        else:
            answer, _ = svc.ask(line.strip(), k)
            data = {"question": line.strip()} | answer.model_dump(mode="json")
        emit(data, as_json, lambda d: d["answer"] + ("\n" if batch is not None else ""))


# ── eval ────────────────────────────────────────────────────────────────────
@main.group(name="eval")
def eval_group() -> None:
    """Eval suites for evaluators."""


@eval_group.command(
    name="run",
    help="Run an eval SUITE (a YAML file whose kind: is drafting, pii, aci or retrieval) and exit 1 if a "
    "threshold fails. The suites in evals/: " + (", ".join(f"evals/{name}" for name in SUITES) or "none found") + ".",
    short_help="Run an eval suite and check its thresholds.",
)
@click.argument("suite", type=click.Path(path_type=Path))
@click.option("--compare", default=None, help="Two or more prompt versions to compare, e.g. v1,v2 (drafting suites).")
@click.option(
    "--out", type=click.Path(path_type=Path), default=None, help="Also write results.json and report.html here."
)
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@friendly
def eval_run(suite: Path, compare: str | None, out: Path | None, as_json: bool) -> None:
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
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
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


def _username(ctx: click.Context, param: click.Parameter, value: str) -> str:
    """Refused before the password is asked for: blank, or with spaces at either end."""
    if not value.strip():
        raise click.BadParameter("a username cannot be blank", ctx, param)
    if value != value.strip():
        raise click.BadParameter(f"{value!r} has spaces at its start or end", ctx, param)
    return value


@users.command(name="add")
@click.argument("username", callback=_username)
@click.option("--role", type=click.Choice(["ot", "coordinator", "supervisor", "evaluator", "admin"]), required=True)
@click.option("--name", "display_name", default="", help="Display name.")
@click.password_option(help="Password (asked for if not given).")
@click.option("--json", "as_json", is_flag=True, help=JSON_HELP)
@friendly
def users_add(username: str, role: str, display_name: str, password: str, as_json: bool) -> None:
    """Create a user."""
    from assistant.accounts import add_user

    add_user(services().store, username, password, role, display_name)
    emit({"username": username, "role": role}, as_json, lambda d: f"added {d['username']} ({d['role']})")


@main.command()
@click.option("--port", default=8501, show_default=True)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help='Print {"url": ...} on stdout before the app starts; the app\'s own output then goes to stderr.',
)
@friendly
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
    if as_json:  # stdout holds the one JSON document: Streamlit's banner and logs go to stderr
        os.dup2(2, 1)
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
