"""The report's environment table and learning-curve panels read as meant for people."""

from __future__ import annotations

from kiln.report.page import environment_section
from kiln.report.plots import curve_panels


def test_environment_shows_no_python_literals() -> None:
    html = environment_section({"versions": {"python": "3.11.7"}, "git_commit": None,
                                "stopped_early": True, "resumed": [{"epoch": 2}],
                                "train_seconds": 1.23456})
    assert "None" not in html and "True" not in html and "[" not in html
    assert "<td>3.11.7</td>" in html and "<td>yes</td>" in html and "<td>—</td>" in html
    assert "<td>1.235</td>" in html and "epoch 2" in html


def test_r2_is_not_drawn_on_the_scale_of_mae_and_rmse() -> None:
    panels = dict((title, keys) for keys, title in curve_panels(
        ["train_loss", "val.loss", "val.mae", "val.rmse", "val.r2", "val.price.mape"]))
    assert panels["loss"] == ["train_loss", "val.loss"]
    assert panels["validation errors (target units)"] == ["val.mae", "val.rmse",
                                                         "val.price.mape"]
    assert panels["validation metrics"] == ["val.r2"]
    assert [t for _, t in curve_panels(["train_loss", "val.accuracy"])] == [
        "loss", "validation metrics"]
