"""The eval report as one self-contained HTML page: inline SVG plots drawn here, no scripts, no CDN.

:func:`render_html` takes the runner's JSON (``results.json``), so the evaluator's page in the
app and a saved run render the same way. A drafting run gets: the verdict and every threshold
check, the comparison table, one bar chart per metric (versions side by side, the threshold as
a dashed line), per-case heatmaps, a trend over earlier runs, and a drill-down per case listing
the facts missed, statements without evidence, false facts found and sections missing.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from html import escape
from typing import Any

__all__ = ["bar_chart", "heatmap", "render_html", "trend_chart"]

PALETTE = ("#2b6cb0", "#dd6b20", "#2f855a", "#805ad5", "#b7791f", "#c53030")
FAIL = "#c53030"
PASS = "#2f855a"
CHART_METRICS = (
    "evidence_found",
    "fact_recall",
    "fact_in_section",
    "goals_name_activity",
    "sections_present",
    "sections_filled",
    "false_facts",
    "unsupported_statements",
    "extra_sections",
    "smart_complete",
    "rouge_l",
    "words",
    "seconds",
)

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:24px;color:#1a202c;max-width:1180px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:28px 0 8px;border-bottom:1px solid #e2e8f0}
.meta{color:#4a5568;font-size:13px}.verdict{display:inline-block;padding:4px 10px;border-radius:4px;color:#fff;
font-weight:600}.pass{background:#2f855a}.fail{background:#c53030}
table{border-collapse:collapse;font-size:13px;margin:6px 0}th,td{border:1px solid #e2e8f0;padding:3px 7px;
text-align:right}th{background:#f7fafc}td.l,th.l{text-align:left}td.bad{color:#c53030;font-weight:600}
td.good{color:#2f855a}.charts{display:flex;flex-wrap:wrap;gap:8px}.charts svg{border:1px solid #edf2f7}
details{border:1px solid #e2e8f0;border-radius:4px;margin:6px 0;padding:4px 8px}summary{cursor:pointer}
.v{margin:6px 0 10px 12px}.v p{font-size:13px;margin:4px 0}
.v h4{margin:6px 0 2px;font-size:14px}ul{margin:2px 0 6px 18px;padding:0;font-size:13px}
.q{color:#4a5568;font-style:italic}.tag{font-size:11px;padding:1px 5px;border-radius:3px;background:#edf2f7}
.bad{color:#c53030}.why{font-weight:400;font-size:11px}pre{font-size:12px;background:#f7fafc;padding:8px;overflow:auto}
"""


# ── plots ───────────────────────────────────────────────────────────────────


def _fmt(value: float | None, percent: bool) -> str:
    if value is None:
        return "n/a"
    if percent:
        return f"{value * 100:.0f}%"
    if float(value).is_integer():
        return f"{value:.0f}"
    return f"{value:.2f}" if abs(value) < 100 else f"{value:.0f}"


def bar_chart(
    title: str,
    labels: Sequence[str],
    values: Sequence[float | None],
    *,
    percent: bool = False,
    threshold: float | None = None,
    failed: Sequence[bool] = (),
    width: int = 270,
    height: int = 180,
) -> str:
    """Vertical bars, one per version, value on top, the threshold as a dashed line; failing bars outlined red."""
    top, bottom, left, right = 40, 30, 34, 8
    plot_w, plot_h = width - left - right, height - top - bottom
    numbers = [v for v in values if v is not None]
    peak = max([*numbers, threshold or 0.0, 1.0 if percent else 0.0]) or 1.0
    peak = 1.0 if percent else peak * 1.15
    slot = plot_w / max(1, len(labels))
    bar_w = min(48.0, slot * 0.6)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>',
        f'<text x="{width / 2:.0f}" y="16" text-anchor="middle" font-size="13" font-weight="600">'
        f"{escape(title)}</text>",
        f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" stroke="#718096"/>',
        f'<text x="{left - 4}" y="{top + 4}" text-anchor="end" font-size="10" fill="#718096">'
        f"{escape(_fmt(peak, percent))}</text>",
        f'<text x="{left - 4}" y="{top + plot_h}" text-anchor="end" font-size="10" fill="#718096">0</text>',
    ]
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        x = left + slot * i + (slot - bar_w) / 2
        h = 0.0 if value is None else max(0.0, min(1.0, value / peak)) * plot_h
        y = top + plot_h - h
        colour = PALETTE[i % len(PALETTE)]
        bad = i < len(failed) and failed[i]
        stroke = f' stroke="{FAIL}" stroke-width="3"' if bad else ""
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{h:.1f}" fill="{colour}"{stroke}>'
            f"<title>{escape(label)}: {escape(_fmt(value, percent))}</title></rect>"
        )
        parts.append(
            f'<text x="{x + bar_w / 2:.1f}" y="{y - 4:.1f}" text-anchor="middle" font-size="11"'
            f"{' fill=' + chr(34) + FAIL + chr(34) if bad else ''}>{escape(_fmt(value, percent))}</text>"
        )
        parts.append(
            f'<text x="{x + bar_w / 2:.1f}" y="{top + plot_h + 14}" text-anchor="middle" font-size="11">'
            f"{escape(label)}</text>"
        )
    if threshold is not None:
        ty = top + plot_h - max(0.0, min(1.0, threshold / peak)) * plot_h
        parts.append(
            f'<line class="threshold" x1="{left}" y1="{ty:.1f}" x2="{width - right}" y2="{ty:.1f}" '
            f'stroke="{FAIL}" stroke-dasharray="5,3"/>'
            f'<text x="{width - right}" y="{height - 4}" text-anchor="end" font-size="10" fill="{FAIL}">'
            f"threshold {escape(_fmt(threshold, percent))}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _cell_colour(value: float | None, kind: str) -> str:
    if value is None:
        return "#edf2f7"
    if kind == "ratio":  # red (0) → amber → green (1)
        v = max(0.0, min(1.0, value))
        red, green = (220, int(80 + 150 * v / 0.5)) if v < 0.5 else (int(220 - 180 * (v - 0.5) / 0.5), 200)
        return f"rgb({red},{green},90)"
    if value <= 0:  # counts: white for none, deeper red for more
        return "#f0fff4"
    depth = min(1.0, value / 4)
    return f"rgb(255,{int(220 - 150 * depth)},{int(220 - 150 * depth)})"


def heatmap(
    title: str,
    rows: Sequence[str],
    columns: Sequence[str],
    values: Sequence[Sequence[float | None]],
    *,
    kind: str = "ratio",
    percent: bool = True,
) -> str:
    """Cases down, versions across; each cell coloured by its value and labelled with it."""
    cell_w, cell_h, left, top = 74, 20, 64, 40
    width = left + cell_w * len(columns) + 10
    height = top + cell_h * len(rows) + 8
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>',
        f'<text x="4" y="16" font-size="13" font-weight="600">{escape(title)}</text>',
    ]
    for j, column in enumerate(columns):
        parts.append(
            f'<text x="{left + cell_w * j + cell_w / 2:.0f}" y="{top - 6}" text-anchor="middle" font-size="11">'
            f"{escape(column)}</text>"
        )
    for i, row in enumerate(rows):
        y = top + cell_h * i
        parts.append(f'<text x="{left - 6}" y="{y + 14}" text-anchor="end" font-size="11">{escape(row)}</text>')
        for j in range(len(columns)):
            value = values[i][j]
            x = left + cell_w * j
            shown = _fmt(value, percent)
            parts.append(
                f'<rect class="cell" x="{x}" y="{y}" width="{cell_w - 2}" height="{cell_h - 2}" '
                f'fill="{_cell_colour(value, kind)}"><title>{escape(row)} / {escape(columns[j])}: {escape(shown)}'
                f"</title></rect>"
                f'<text x="{x + cell_w / 2 - 1:.0f}" y="{y + 13}" text-anchor="middle" font-size="11">'
                f"{escape(shown)}</text>"
            )
    parts.append("</svg>")
    return "".join(parts)


def trend_chart(
    title: str, points: Sequence[dict[str, Any]], metric: str, *, percent: bool = True, order: Sequence[str] = ()
) -> str:
    """One line per version across runs (oldest left); empty when fewer than two runs.

    ``order`` puts those versions first, so each keeps the colour it has in the bar charts."""
    seen = {v for p in points for v in p.get("versions", {})}
    versions = [v for v in order if v in seen] + sorted(seen - set(order))
    if len(points) < 2 or not versions:
        return ""
    width, height, left, right, top, bottom = 560, 190, 40, 90, 26, 28
    plot_w, plot_h = width - left - right, height - top - bottom
    series = {v: [p.get("versions", {}).get(v, {}).get(metric) for p in points] for v in versions}
    numbers = [x for s in series.values() for x in s if x is not None]
    peak = 1.0 if percent else (max(numbers) * 1.15 if numbers else 1.0) or 1.0
    step = plot_w / max(1, len(points) - 1)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" role="img" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>',
        f'<text x="4" y="16" font-size="13" font-weight="600">{escape(title)}</text>',
        f'<line x1="{left}" y1="{top + plot_h}" x2="{left + plot_w}" y2="{top + plot_h}" stroke="#718096"/>',
    ]
    for k, version in enumerate(versions):
        colour = PALETTE[k % len(PALETTE)]
        coords = [
            (left + step * i, top + plot_h - max(0.0, min(1.0, v / peak)) * plot_h)
            for i, v in enumerate(series[version])
            if v is not None
        ]
        if coords:
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
            parts.append(f'<polyline class="trend" points="{path}" fill="none" stroke="{colour}" stroke-width="2"/>')
            parts += [f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>' for x, y in coords]
        parts.append(
            f'<text x="{left + plot_w + 8}" y="{top + 12 + 14 * k}" font-size="11" fill="{colour}">'
            f"{escape(version)}</text>"
        )
    first, last = points[0].get("started", ""), points[-1].get("started", "")
    parts.append(f'<text x="{left}" y="{height - 6}" font-size="10" fill="#718096">{escape(str(first)[:16])}</text>')
    parts.append(
        f'<text x="{left + plot_w}" y="{height - 6}" text-anchor="end" font-size="10" fill="#718096">'
        f"{escape(str(last)[:16])}</text>"
    )
    parts.append("</svg>")
    return "".join(parts)


# ── the page ────────────────────────────────────────────────────────────────


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>{body}</body></html>"
    )


def render_html(data: dict[str, Any]) -> str:
    """The whole report for a runner result (``results.json``)."""
    if data.get("kind") != "drafting":
        return _other_kind(data)
    return _drafting(data)


def _other_kind(data: dict[str, Any]) -> str:
    passed = bool(data.get("passed"))
    checks = data.get("checks") or {}
    rows = ""
    if isinstance(checks, dict):
        rows = "".join(
            f'<tr><td class="l">{escape(str(name))}</td><td class="{"good" if ok else "bad"}">'
            f"{'pass' if ok else 'FAIL'}</td></tr>"
            for name, ok in checks.items()
        )
    body = (
        f'<h1>Eval suite {escape(str(data.get("suite")))} <span class="tag">{escape(str(data.get("kind")))}</span></h1>'
        f'<p class="meta">{escape(str(data.get("path")))} · {escape(str(data.get("started")))}</p>'
        f'<p><span class="verdict {"pass" if passed else "fail"}">{"PASSED" if passed else "FAILED"}</span></p>'
        + (f'<h2>Checks</h2><table><tr><th class="l">check</th><th>result</th></tr>{rows}</table>' if rows else "")
        + "<h2>Results</h2><pre>"
        + escape(json.dumps({k: v for k, v in data.items() if k not in {"files"}}, indent=2, default=str))
        + "</pre>"
    )
    return _page(f"Eval {data.get('suite')}", body)


def _drafting(data: dict[str, Any]) -> str:
    metrics: dict[str, dict[str, Any]] = data["metrics"]
    versions: list[dict[str, Any]] = data["versions"]
    names = [v["name"] for v in versions]
    passed = bool(data["passed"])
    out: list[str] = [
        f'<h1>Eval suite {escape(data["suite"])} <span class="tag">drafting</span></h1>',
        f'<p class="meta">{escape(data.get("description") or "")}</p>',
        f'<p class="meta">template <b>{escape(data["template"])}</b> · provider <b>{escape(data["provider"])}</b> · '
        f"{len(data['cases'])} cases · versions {escape(', '.join(names))} · run {escape(data['started'])} · "
        f"{escape(data['path'])}</p>",
        f'<p><span class="verdict {"pass" if passed else "fail"}">{"PASSED" if passed else "FAILED"}</span> ',
    ]
    out.append(
        " ".join(
            f'<span class="verdict {"pass" if v["passed"] else "fail"}">{escape(v["name"])}: '
            f"{'pass' if v['passed'] else 'fail'}</span>"
            for v in versions
        )
        + "</p>"
    )
    out.append(_checks_table(versions, metrics))
    out.append(_comparison_table(data["table"], versions, metrics))
    out.append('<h2>Per metric, per version</h2><div class="charts">')
    for name in CHART_METRICS:
        meta = metrics[name]
        values = [v["metrics"].get(name) for v in versions]
        if all(x is None for x in values):
            continue
        threshold = None
        failed: list[bool] = []
        for v in versions:
            related = [c for c in v["checks"] if c["metric"] == name]
            failed.append(any(not c["ok"] for c in related))
            if related:
                threshold = related[0]["threshold"]
        label = meta["label"] + (" ↑" if meta["better"] == "higher" else " ↓")
        out.append(bar_chart(label, names, values, percent=meta["percent"], threshold=threshold, failed=failed))
    out.append("</div>")
    out.append(_per_case(data, names))
    trend = list(data.get("trend") or [])
    current = {"started": data["started"], "versions": {v["name"]: v["metrics"] for v in versions}}
    chart = trend_chart("Fact recall across runs", [*trend, current], "fact_recall", order=names)
    if chart:
        out.append(f"<h2>Trend ({len(trend) + 1} runs of this suite)</h2>{chart}")
        out.append(trend_chart("Evidence found across runs", [*trend, current], "evidence_found", order=names))
    out.append(_drill_down(data, names))
    out.append(
        '<h2>How to read this</h2><ul class="meta">'
        + "".join(f"<li><b>{escape(m['label'])}</b>: {escape(m['description'])}</li>" for m in metrics.values())
        + "</ul>"
    )
    return _page(f"Eval {data['suite']}", "".join(out))


def _checks_table(versions: list[dict[str, Any]], metrics: dict[str, dict[str, Any]]) -> str:
    """One row per threshold, one column per version: the value, red where it fails, and why."""
    order: list[tuple[str, str, float]] = []
    for v in versions:
        for c in v["checks"]:
            key = (c["metric"], c["op"], c["threshold"])
            if key not in order:
                order.append(key)
    if not order:
        return "<h2>Thresholds</h2><p>No thresholds in this suite.</p>"
    head = "".join(f"<th>{escape(v['name'])}</th>" for v in versions)
    rows = []
    for metric, op, threshold in order:
        meta = metrics[metric]
        cells = []
        for v in versions:
            check = next(
                (c for c in v["checks"] if (c["metric"], c["op"], c["threshold"]) == (metric, op, threshold)), None
            )
            if check is None:
                cells.append("<td></td>")
                continue
            ok = check["ok"]
            why = f'<br><span class="why">{escape(check["detail"])}</span>' if check.get("detail") and not ok else ""
            cells.append(
                f'<td class="{"good" if ok else "bad"}">{escape(_fmt(check["value"], meta["percent"]))} '
                f"{'✓' if ok else '✗ FAIL'}{why}</td>"
            )
        rows.append(
            f'<tr><td class="l">{escape(meta["label"])} <span class="tag">{escape(metric)}</span></td>'
            f"<td>{escape(op)} {escape(_fmt(threshold, meta['percent']))}</td>{''.join(cells)}</tr>"
        )
    return (
        '<h2>Thresholds</h2><table class="checks"><tr><th class="l">metric</th><th>threshold</th>'
        f"{head}</tr>{''.join(rows)}</table>"
    )


def _comparison_table(columns: list[str], versions: list[dict[str, Any]], metrics: dict[str, dict[str, Any]]) -> str:
    extra = ["fact_in_section", "sections_filled", "smart_complete", "rouge_l", "schema_valid", "pii_sent", "tokens"]
    shown = [*columns, *[m for m in extra if m not in columns]]
    head = "".join(f"<th>{escape(metrics[m]['label'])}</th>" for m in shown)
    rows = []
    for v in versions:
        failing = {c["metric"] for c in v["checks"] if not c["ok"]}
        cells = "".join(
            f'<td class="{"bad" if m in failing else ""}">'
            f"{escape(_fmt(v['metrics'].get(m), metrics[m]['percent']))}</td>"
            for m in shown
        )
        rows.append(
            f'<tr><td class="l">{escape(v["name"])} <span class="tag">@{escape(v["template_version"])}</span>'
            f"</td>{cells}</tr>"
        )
    return f'<h2>Comparison</h2><table class="compare"><tr><th class="l">version</th>{head}</tr>{"".join(rows)}</table>'


def _by_case(data: dict[str, Any]) -> dict[str, dict[str, dict[str, Any]]]:
    table: dict[str, dict[str, dict[str, Any]]] = {}
    for row in data["per_case"]:
        table.setdefault(row["case"], {})[row["version"]] = row
    return table


def _per_case(data: dict[str, Any], names: list[str]) -> str:
    table = _by_case(data)
    cases = list(data["cases"])

    def grid(metric: str) -> list[list[float | None]]:
        return [[table.get(c, {}).get(n, {}).get("metrics", {}).get(metric) for n in names] for c in cases]

    problems = [
        [
            None
            if (row := table.get(c, {}).get(n)) is None
            else float(
                len(row["false_facts"])
                + len(row["unsupported"])
                + len(row["missing_sections"])
                + (1 if row["error"] else 0)
            )
            for n in names
        ]
        for c in cases
    ]
    return (
        '<h2>Per case</h2><p class="meta">Problems per case: false facts + statements without evidence + '
        'missing sections (+1 when the case could not be drafted).</p><div class="charts">'
        + heatmap("Fact recall", cases, names, grid("fact_recall"))
        + heatmap("Facts in gold section", cases, names, grid("fact_in_section"))
        + heatmap("Evidence found", cases, names, grid("evidence_found"))
        + heatmap(
            "Problems per case",
            cases,
            names,
            problems,
            kind="count",
            percent=False,
        )
        + "</div>"
    )


def _drill_down(data: dict[str, Any], names: list[str]) -> str:
    table = _by_case(data)
    out = ["<h2>Drill-down per case</h2>"]
    for index, case in enumerate(data["cases"]):
        rows = table.get(case, {})
        first = next(iter(rows.values()), {})
        trouble = any(
            r["false_facts"] or r["unsupported"] or r["error"] or r["missing_sections"] for r in rows.values()
        )
        recall = " · ".join(
            f"{escape(n)} {escape(_fmt(rows[n]['metrics'].get('fact_recall'), True))}" for n in names if n in rows
        )
        flags = ' <span class="tag bad">problems</span>' if trouble else ""
        opened = " open" if index == 0 or trouble else ""
        out.append(
            f'<details class="case" id="case-{escape(case)}"{opened}><summary><b>{escape(case)}</b> '
            f"{escape(first.get('title', ''))} — fact recall {recall}{flags}</summary>"
        )
        for name in names:
            if name in rows:
                out.append(_version_block(name, rows[name]))
        out.append("</details>")
    return "".join(out)


def _version_block(name: str, row: dict[str, Any]) -> str:
    parts = [f'<div class="v"><h4>{escape(name)}</h4>']
    if row.get("error"):
        parts.append(f'<p class="bad">Not drafted: {escape(row["error"])}</p></div>')
        return "".join(parts)
    missed = [f for f in row["facts"] if not f["found"]]
    total = len(row["facts"])
    parts.append(
        f"<p>Facts found {total - len(missed)} of {total}. Missed:</p>"
        if missed
        else f"<p>All {total} facts found.</p>"
    )
    if missed:
        parts.append(
            '<ul class="missed">'
            + "".join(
                f'<li><span class="tag">{escape(f["section"])}</span> {escape(f["fact"])} '
                f'<span class="q">“{escape(f["quote"])}”</span></li>'
                for f in missed
            )
            + "</ul>"
        )
    misplaced = [f for f in row["facts"] if f["found"] and f["section"] not in f["found_in"]]
    if misplaced:
        parts.append(
            "<p>Found in another section:</p><ul>"
            + "".join(
                f'<li><span class="tag">{escape(f["section"])}</span> {escape(f["fact"])} → '
                f"{escape(', '.join(f['found_in']))}</li>"
                for f in misplaced
            )
            + "</ul>"
        )
    if row["unsupported"]:
        parts.append(
            '<p class="bad">Statements with no evidence:</p><ul class="unsupported">'
            + "".join(
                f'<li><span class="tag">{escape(u["section"])}</span> {escape(u["text"])} '
                f'<span class="q">({escape(u["reason"])})</span></li>'
                for u in row["unsupported"]
            )
            + "</ul>"
        )
    else:
        parts.append("<p>Every statement has evidence.</p>")
    if row["false_facts"]:
        parts.append(
            '<p class="bad">False facts found (must not appear):</p><ul class="false-facts">'
            + "".join(
                f'<li>{escape(f["fact"])} <span class="q">{escape(f["excerpt"])}</span></li>'
                for f in row["false_facts"]
            )
            + "</ul>"
        )
    if row["missing_sections"] or row["extra_sections"]:
        parts.append(
            f'<p class="bad">Sections missing: {escape(", ".join(row["missing_sections"]) or "none")}; '
            f"not in the note: {escape(', '.join(row['extra_sections']) or 'none')}</p>"
        )
    missed_goals = [g for g in row["goals"] if not g["found"]]
    if missed_goals:
        parts.append(
            "<p>Goals not naming the activity: "
            + "; ".join(f'{escape(g["activity"])} (<span class="q">“{escape(g["says"])}”</span>)' for g in missed_goals)
            + f" — drafted: {escape(', '.join(row['goals_drafted']) or 'none')}</p>"
        )
    if row.get("pii_sent"):
        parts.append(f'<p class="bad">Personal data sent to the model: {len(row["pii_sent"])} identifiers</p>')
    parts.append("</div>")
    return "".join(parts)
