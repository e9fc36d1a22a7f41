"""monitor.html: self-contained, every figure decodes in headless Chromium, no JS error,
no empty chart; and the service's gauges and status summary."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
from monitor_helpers import population, write_log

from kiln.monitor import check, prometheus_lines, status_summary
from kiln.monitor.page import write_page

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium"
                                        if Path("/usr/bin/chromium").exists() else None)
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars"]
# Counts the images that decoded to a real picture, and any script error on the page.
PROBE = ("<script>window.onerror=()=>{document.body.dataset.jserror='1'};"
         "addEventListener('load',()=>{const i=[...document.images];"
         "document.body.dataset.images=i.length+'/'+i.filter(x=>x.complete&&x.naturalWidth>0)"
         ".length;});</script>")


@pytest.fixture(scope="module")
def report(shop_bundle: Any, tmp_path_factory: pytest.TempPathFactory) -> Any:
    path = tmp_path_factory.mktemp("page") / "predictions.db"
    write_log(path, shop_bundle, population(500, 61), step=2.0)
    write_log(path, shop_bundle, population(300, 62, shift=0.8), start=1_700_001_000.0,
              prefix="s", step=2.0)
    return check(shop_bundle, path)


def test_page_is_one_self_contained_file(report: Any, tmp_path: Path) -> None:
    page = write_page(report, tmp_path / "monitor.html").read_text(encoding="utf-8")
    assert page.count('src="data:image/png;base64,') == 3  # distributions, accuracy, latency
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", page)
    assert "<script" not in page
    for heading in ("drift", "performance", "operations"):
        assert f"<h2>{heading}</h2>" in page
    assert "DRIFT" in page and "x1" in page and "estimated accuracy" in page


@pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"),
                    reason="needs chromium (scripts/system-deps.sh)")
def test_chromium_renders_every_chart(report: Any, tmp_path: Path) -> None:
    from PIL import Image

    page = write_page(report, tmp_path / "monitor.html")
    probe = tmp_path / "probe.html"
    probe.write_text(page.read_text(encoding="utf-8").replace("</body>", PROBE + "</body>"),
                     encoding="utf-8")
    assert CHROMIUM is not None
    base = [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([*base, "--virtual-time-budget=10000", "--dump-dom", probe.as_uri()],
                         capture_output=True, text=True, timeout=120)
    assert 'data-images="3/3"' in dom.stdout, dom.stderr[-2000:]
    assert "data-jserror" not in dom.stdout
    shot = tmp_path / "shot.png"
    subprocess.run([*base, f"--screenshot={shot}", "--window-size=1200,3000", page.as_uri()],
                   capture_output=True, timeout=120, check=True)
    image = Image.open(shot).convert("RGB")
    colours = image.getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 200  # text and plots, not a blank page


def test_every_chart_has_ink(report: Any) -> None:
    """A chart with axes but no data would pass the decode check: count its colours."""
    import base64
    import io

    from PIL import Image

    from kiln.monitor import plots

    drifted = {r.feature: r.drifted for r in report.drift}
    for png in (plots.distributions(report.series, drifted),
                plots.accuracy_over_time(report.over_time),
                plots.latency_over_time(report.over_time)):
        assert png is not None
        image = Image.open(io.BytesIO(base64.b64decode(png))).convert("RGB")
        colours = image.getcolors(maxcolors=1 << 20)
        assert colours is not None and len(colours) > 50


def test_prometheus_lines_parse_and_name_each_test(report: Any) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    text = prometheus_lines(report, model="shop")
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert families["kiln_drift_any"].samples[0].value == 1.0
    drifted = [s for s in families["kiln_drift_detected"].samples if s.value == 1.0]
    assert {"feature": "x1", "test": drifted[0].labels["test"], "model": "shop"} \
        in [s.labels for s in drifted]
    assert families["kiln_accuracy"].samples[0].value == pytest.approx(report.accuracy)
    summary = status_summary(report)
    assert summary["drift_detected"] and "x1" in summary["drifted_features"]
    assert summary["rows"] == 800 and summary["alerts"]
