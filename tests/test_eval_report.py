"""The HTML eval report: self-contained, SVG plots that parse and scale with the figures, a drill-down per case,
and a real headless Chromium that renders it."""

from __future__ import annotations

import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
import yaml

from assistant.evaluation.report import bar_chart, heatmap, render_html, trend_chart
from assistant.evaluation.runner import SuiteRun, run_suite

ROOT = Path(__file__).resolve().parents[1]
EVALS = ROOT / "evals"
SVG = re.compile(r"<svg\b.*?</svg>", re.S)


@pytest.fixture(scope="module")
def offline_run(
    tmp_path_factory: pytest.TempPathFactory, isolated_home: Path, embedder: Any
) -> tuple[dict[str, Any], Path]:
    """The golden suite on ot01 and ot12, v1 against the broken version, run twice so there is a trend."""
    folder = tmp_path_factory.mktemp("report")
    raw = yaml.safe_load((EVALS / "golden.yaml").read_text(encoding="utf-8"))
    raw.update(cases=str(EVALS / "data" / "ot"), only=["ot01", "ot12"], name="report-test")
    suite = folder / "suite.yaml"
    suite.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    run_suite(suite, compare=["v1", "broken"], out_dir=folder / "first")
    run = run_suite(suite, compare=["v1", "broken"], out_dir=folder / "out")
    assert isinstance(run, SuiteRun)
    return run.as_json(), folder / "out" / "report.html"


def svgs(html: str) -> list[ET.Element]:
    return [ET.fromstring(block) for block in SVG.findall(html)]


def test_when_a_run_is_rendered_then_the_page_is_self_contained_with_parseable_svg_plots(
    offline_run: tuple[dict[str, Any], Path],
) -> None:
    data, path = offline_run
    html = path.read_text(encoding="utf-8")
    assert html == render_html(data)
    assert "<script" not in html.lower() and not re.search(r"(src|href)=\"https?:", html)
    plots = svgs(html)  # every plot is well-formed XML, so any browser draws it
    titles = [p.get("aria-label") or "" for p in plots]
    assert any(t.startswith("fact recall") for t in titles) and any(t.startswith("false facts") for t in titles)
    assert {"Fact recall", "Evidence found", "Facts in gold section"} <= set(titles)
    assert "Fact recall across runs" in titles  # the second run has a trend
    ns = "{http://www.w3.org/2000/svg}"
    fact_bars = next(p for p in plots if (p.get("aria-label") or "").startswith("fact recall"))
    assert len(fact_bars.findall(f"{ns}rect[@class='bar']")) == 2  # one bar per version
    heat = next(p for p in plots if p.get("aria-label") == "Fact recall")
    assert len(heat.findall(f"{ns}rect[@class='cell']")) == 4  # 2 cases x 2 versions


def test_when_broken_fails_then_the_report_marks_it_and_its_failing_bars(
    offline_run: tuple[dict[str, Any], Path],
) -> None:
    _, path = offline_run
    html = path.read_text(encoding="utf-8")
    assert "FAILED" in html and "v1: pass" in html and "broken: fail" in html
    assert "missing: risk" in html and "not in the note: diagnosis" in html
    sections = next(p for p in svgs(html) if (p.get("aria-label") or "").startswith("sections present"))
    bars = sections.findall("{http://www.w3.org/2000/svg}rect[@class='bar']")
    assert [b.get("stroke") for b in bars] == [None, "#c53030"]  # only broken's bar is outlined as failing
    assert sections.find("{http://www.w3.org/2000/svg}line[@class='threshold']") is not None


def test_when_a_case_is_drilled_into_then_missed_facts_and_evidence_are_listed(
    offline_run: tuple[dict[str, Any], Path],
) -> None:
    data, path = offline_run
    html = path.read_text(encoding="utf-8")
    assert html.count('<details class="case"') == 2 and 'id="case-ot12"' in html
    ot12_v1 = next(r for r in data["per_case"] if r["case"] == "ot12" and r["version"] == "v1")
    missed = [f for f in ot12_v1["facts"] if not f["found"]]
    assert missed, "the offline drafter misses short answers, so there is something to drill into"
    block = html[html.index('id="case-ot12"') :]
    for fact in missed:
        assert fact["fact"].replace("'", "&#x27;") in block
    assert "Every statement has evidence." in block
    assert "Sections missing: risk" in block


def test_when_statements_lack_evidence_or_false_facts_appear_then_the_drill_down_shows_them(
    services: Any, tmp_path: Path
) -> None:
    run = run_suite(EVALS / "golden_scripted.yaml", compare=["broken"], out_dir=tmp_path)
    assert isinstance(run, SuiteRun)
    html = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert 'class="unsupported"' in html and "cited quote not found in that segment" in html
    assert 'class="false-facts"' in html and "the client takes co-careldopa" in html


def test_when_bars_are_drawn_then_heights_follow_values_and_the_threshold_line_sits_at_its_value() -> None:
    svg = ET.fromstring(bar_chart("recall", ["a", "b"], [0.25, 0.75], percent=True, threshold=0.5))
    ns = "{http://www.w3.org/2000/svg}"
    heights = [float(r.get("height", "0")) for r in svg.findall(f"{ns}rect[@class='bar']")]
    assert heights[1] == pytest.approx(3 * heights[0])
    line = svg.find(f"{ns}line[@class='threshold']")
    assert line is not None
    bottom = float(svg.findall(f"{ns}line")[0].get("y1", "0"))
    assert bottom - float(line.get("y1", "0")) == pytest.approx(2 * heights[0], abs=0.2)
    empty = ET.fromstring(bar_chart("counts", ["a"], [None]))
    assert empty.find(f"{ns}rect[@class='bar']") is not None  # a missing value draws as n/a, not an error


def test_when_cells_differ_then_heatmap_colours_differ_and_trend_needs_two_runs() -> None:
    svg = ET.fromstring(heatmap("h", ["c1", "c2"], ["v"], [[0.0], [1.0]]))
    fills = [r.get("fill") for r in svg.findall("{http://www.w3.org/2000/svg}rect[@class='cell']")]
    assert len(set(fills)) == 2
    assert trend_chart("t", [{"started": "x", "versions": {"v1": {"fact_recall": 0.4}}}], "fact_recall") == ""


@pytest.mark.browser
def test_when_chromium_opens_the_report_then_it_paints_the_plots(
    offline_run: tuple[dict[str, Any], Path], tmp_path: Path
) -> None:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        pytest.skip("chromium is not installed (make browser installs it)")
    from PIL import Image

    _, path = offline_run
    shot = tmp_path / "report.png"
    subprocess.run(
        [
            chromium,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--hide-scrollbars",
            f"--screenshot={shot}",
            "--window-size=1200,1600",
            path.as_uri(),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )
    image = Image.open(shot).convert("RGB")
    assert image.size == (1200, 1600)
    colours = image.getcolors(maxcolors=1 << 20) or []
    # The bar colours of v1 (blue) and broken (orange) and the fail red are painted somewhere on the page.
    present = {rgb for _, rgb in colours}
    assert (0x2B, 0x6C, 0xB0) in present and (0xDD, 0x6B, 0x20) in present and (0xC5, 0x30, 0x30) in present
