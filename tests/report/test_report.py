"""report.html: one self-contained file with its figures, rendered by headless Chromium."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from kiln.report import report
from kiln.report.page import render

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium"
                                        if Path("/usr/bin/chromium").exists() else None)
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync", "--hide-scrollbars"]
# Counts the images that decoded to a real picture; injected into a copy of the report.
PROBE = ("<script>addEventListener('load',()=>{const i=[...document.images];"
         "document.body.dataset.images=i.length+'/'+i.filter(x=>x.complete&&x.naturalWidth>0)"
         ".length;});</script>")


def test_report_is_one_self_contained_file(shop_run: Path) -> None:
    from kiln.tracking import client
    from kiln.train import load_run

    path = report(shop_run)
    assert path == shop_run / "report.html"
    page = path.read_text(encoding="utf-8")
    assert (shop_run / "evaluation.json").exists()  # evaluated on the way
    # Figures: learning curves, confusion matrix, ROC/PR, calibration, residuals.
    assert page.count('src="data:image/png;base64,') == 5
    assert not re.search(r"""(src|href)=["']?(https?:|//)""", page)  # nothing fetched
    assert "<script" not in page
    for heading in ("metrics", "learning curves", "predictions", "slices", "architecture",
                    "data checks", "environment"):
        assert f"<h2>{heading}</h2>" in page
    assert "hist_gradient_boosting" in page and "north" in page
    assert "trunk[0]" in page and "torch" in page  # design table and environment
    run = load_run(shop_run)
    artifacts = [a.path for a in client().list_artifacts(run.info["mlflow_run_id"])]
    assert "report.html" in artifacts


def test_report_reuses_a_fresh_evaluation(shop_run: Path) -> None:
    report(shop_run)
    stamp = (shop_run / "evaluation.json").stat().st_mtime_ns
    report(shop_run)
    assert (shop_run / "evaluation.json").stat().st_mtime_ns == stamp


def test_cli_prints_the_path(shop_run: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from kiln.cli import main

    with pytest.raises(SystemExit) as exited:
        main(["report", shop_run.name])
    assert exited.value.code in (0, None)
    assert capsys.readouterr().out.strip().endswith("report.html")


def test_values_are_escaped() -> None:
    ev: dict[str, Any] = {
        "run_id": "r1", "name": "<b>x</b>", "data": "test split", "rows": 2,
        "objective": {"name": "f1_micro", "direction": "maximize", "value": 0.5,
                      "ci95": [0.1, 0.9]},
        "metrics": {"f1_micro": {"value": 0.5, "ci95": [0.1, 0.9]}}, "baselines": [],
        "slices": [], "checks": [], "targets": {"tags": {
            "type": "multilabel", "labels": ["<a>", "b"],
            "per_class": [{"label": "<a>", "precision": 1.0, "recall": 0.5, "f1": 0.6667,
                           "support": 2}]}},
        "bootstrap": {"resamples": 10, "seed": 0}}
    page = render(ev, [], {"id": "r1"}, [], {})
    assert "<b>x</b>" not in page and "&lt;b&gt;x&lt;/b&gt;" in page
    assert "&lt;a&gt;" in page and "No training history" in page


# CI's set-up installs Chromium, so there a missing browser fails the test instead.
@pytest.mark.skipif(CHROMIUM is None and not os.environ.get("CI"),
                    reason="needs chromium (scripts/system-deps.sh)")
def test_chromium_renders_every_image(shop_run: Path, tmp_path: Path) -> None:
    from PIL import Image

    page = report(shop_run).read_text(encoding="utf-8")
    probe = tmp_path / "probe.html"
    probe.write_text(page.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    assert CHROMIUM is not None
    base = [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run([*base, "--virtual-time-budget=10000", "--dump-dom",
                          probe.as_uri()], capture_output=True, text=True, timeout=120)
    assert 'data-images="5/5"' in dom.stdout, dom.stderr[-2000:]
    shot = tmp_path / "shot.png"
    subprocess.run([*base, f"--screenshot={shot}", "--window-size=1200,3000",
                    (shop_run / "report.html").as_uri()], capture_output=True, timeout=120,
                   check=True)
    image = Image.open(shot).convert("RGB")
    assert image.size == (1200, 3000)
    colours = image.getcolors(maxcolors=1 << 20)
    assert colours is not None and len(colours) > 200  # text and plots, not a blank page


def test_multilabel_figures_render() -> None:
    import numpy as np

    from kiln.evaluate.curves import target_details

    rng = np.random.default_rng(0)
    y = (rng.random((80, 3)) < 0.4).astype(int)
    proba = np.clip(0.5 * y + 0.5 * rng.random((80, 3)), 0, 1)
    details = target_details("multilabel", y, proba, ["x", "y", "z"])
    assert list(details["curves"]) == ["x", "y", "z"]
    ev: dict[str, Any] = {
        "run_id": "r", "name": "tags", "data": "test split", "rows": 80,
        "objective": {"name": "f1_micro", "direction": "maximize", "value": 0.5,
                      "ci95": [0.4, 0.6]},
        "metrics": {"f1_micro": {"value": 0.5, "ci95": [0.4, 0.6]}}, "baselines": [],
        "slices": [], "checks": [], "bootstrap": {"resamples": 10, "seed": 0},
        "targets": {"tags": {"type": "multilabel", "labels": ["x", "y", "z"], **details}}}
    history = [{"epoch": e, "train_loss": 1 / e, "val": {"f1_micro": e / 10}}
               for e in range(1, 6)]
    page = render(ev, history, {}, [], {})
    assert page.count("data:image/png;base64,") == 3  # learning curves, ROC/PR, calibration
