"""The evaluator: eval suites, runs through the CLI contract, results as tables and plots."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import streamlit as st
import yaml

from ui.common import audit_once, services, user

EVALS = Path(__file__).resolve().parents[2] / "evals"


def suites() -> list[dict[str, Any]]:
    found = []
    for path in sorted(EVALS.glob("*.yaml")):
        try:
            spec = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as exc:
            spec = {"error": str(exc)}
        found.append(
            {
                "suite": path.name,
                "kind": spec.get("kind", ""),
                "name": spec.get("name", path.stem),
                "thresholds": ", ".join(f"{k} {v}" for k, v in (spec.get("thresholds") or {}).items()),
            }
        )
    return found


def flatten(data: Any, prefix: str = "") -> dict[str, float]:
    """Every number in a run's JSON, keyed by its path, for tables and plots."""
    out: dict[str, float] = {}
    if isinstance(data, dict):
        for key, value in data.items():
            out |= flatten(value, f"{prefix}{key}.")
    elif isinstance(data, int | float):
        out[prefix.rstrip(".")] = float(data)
    return out


def page() -> None:
    st.header("Evaluation")
    audit_once("view", "evaluation")
    available = suites()
    if not available:
        st.info(f"No eval suites in {EVALS}.")
        return
    st.dataframe(available, hide_index=True, use_container_width=True)
    suite = st.selectbox("Suite", [s["suite"] for s in available], key="eval_suite")
    compare = st.text_input("Compare versions (optional, e.g. v1,v2)", key="eval_compare")
    if st.button("Run suite", key="eval_run"):
        run_suite(suite, compare.strip())
    show_runs()


def run_suite(suite: str, compare: str) -> None:
    """Through the CLI contract, in its own process: a long run never holds up the app's other users.

    A run that finished is the one the results below show, whatever was picked before it."""
    command = [sys.executable, "-m", "assistant.cli", "eval", "run", str(EVALS / suite), "--json"]
    if compare:
        command += ["--compare", compare]
    services().store.audit(user()["username"], "eval_run", suite, {"compare": compare})
    with st.spinner(f"Running {suite}… (this can take minutes)"):
        done = subprocess.run(command, capture_output=True, text=True, check=False)
    try:
        data = json.loads(done.stdout)
    except json.JSONDecodeError:
        lines = (done.stderr or done.stdout or "no output").strip().splitlines()
        st.error(lines[-1] if lines else "the run printed nothing")
        return
    # the runs box is drawn after this: set now, it shows this run and its report, not the one picked before
    this_run = Path(data["files"]["results"]).resolve()
    st.session_state["eval_runs"] = [str(r) for r in kept_runs() if r.resolve() == this_run]
    if done.returncode == 0:
        st.success(f"{suite}: every threshold met.")
    else:
        st.warning(f"{suite}: a threshold was missed; see the report below.")


def kept_runs() -> list[Path]:
    from assistant.evaluation.runner import kept_runs as runs

    return list(runs())


def show_runs() -> None:
    st.subheader("Results")
    runs = kept_runs()
    if not runs:
        st.caption("No runs yet. Run a suite here or with `reconnect eval run evals/SUITE.yaml`.")
        return
    names = {str(r): f"{r.parent.parent.name} · {r.parent.name}" for r in runs}
    st.session_state.setdefault("eval_runs", [str(runs[-1])])  # the latest run to start with
    picked = st.multiselect("Runs to compare", list(names), format_func=names.get, key="eval_runs")
    table: dict[str, dict[str, float]] = {}
    data: dict[str, Any] = {}
    for path in picked:
        try:
            data[path] = json.loads(Path(path).read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            st.warning(f"{names[path]}: cannot read ({exc})")
            continue
        table[names[path]] = flatten(data[path])
    if not table:
        return
    import pandas as pd

    frame = pd.DataFrame(table)
    st.dataframe(frame, use_container_width=True)
    ratios = frame[(frame.abs() <= 1).all(axis=1)]
    if len(table) > 1 and not ratios.empty:
        st.bar_chart(ratios, horizontal=True, stack=False)
    from streamlit.components.v1 import html

    from assistant.evaluation.report import render_html

    last = picked[-1]
    if last in data:
        st.markdown(f"**Report: {names[last]}**")
        html(render_html(data[last]), height=900, scrolling=True)
