"""`kiln demo` end to end: the README's main job — ship, serve (a real process), drift,
detection, retrain, promotion, and the service following the alias."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

KilnCli = Callable[..., tuple[int, str, str]]


@pytest.mark.slow
def test_demo_runs_the_whole_loop(kiln_cli: KilnCli, kiln_home: Path) -> None:
    code, out, err = kiln_cli("demo", "--epochs", "15", "--json")
    assert code == 0, err + out[-3000:]
    summary = json.loads(out.strip().splitlines()[-1])
    assert {d["blueprint"] for d in summary["designs"]} >= {"digits_cnn.yaml",
                                                            "breast_cancer_mlp.yaml"}
    assert summary["test"]["accuracy"] > 0.8
    artifacts = {key: Path(path) for key, path in summary["artifacts"].items()}
    assert artifacts["bundle"].is_relative_to(kiln_home)
    assert (artifacts["bundle"] / "manifest.json").is_file()
    for key in ("report", "monitor_page", "retrain_record", "challenger_report",
                "prediction_log", "status_page", "summary_page"):
        assert (artifacts.get(key) or Path(summary[key])).is_file(), key
    # clean traffic moves no input feature (a briefly trained model's confidence on unseen
    # rows may differ from its confidence on its training rows, the profile's reference);
    # the injected regime moves the size features, and it hurts the champion
    inputs = [d for d in summary["clean"]["drifted"] if ":" not in d.split(" (")[0]]
    assert inputs == [], summary["clean"]
    assert summary["drifted"]["drift_detected"] is True and summary["drifted"]["alerts"]
    assert any("mean radius" in a for a in summary["drifted"]["alerts"])
    assert summary["drifted"]["accuracy"] < summary["clean"]["accuracy"]
    assert summary["drift_to_alert_s"] is not None
    # the retrain was triggered by drift, passed the gate on the fresh holdout, and the
    # live service answered from the new version
    retrain = summary["retrain"]
    assert retrain["trigger"] == "drift" and retrain["decision"] == "promoted", retrain
    assert retrain["p_value"] < 0.05
    assert summary["version_before"] == "1" and summary["version_after"] == "2"
    assert summary["drift_to_serving_s"] > summary["drift_to_alert_s"]
    page = Path(summary["summary_page"]).read_text()
    assert "retrain record" in page and "monitor page" in page

    from kiln.registry import list_versions

    aliases = {v.version: v.aliases for v in list_versions(summary["model"])}
    assert "champion" in aliases[2] and "champion" not in aliases[1]


def test_demo_stops_its_server_when_a_step_fails(monkeypatch: pytest.MonkeyPatch,
                                                 tmp_path: Path) -> None:
    """The service is a child process: a failure inside the loop must not leave it up."""
    from kiln.demo import server as demo_server

    started: list[subprocess.Popen[bytes]] = []
    real_popen = subprocess.Popen

    def recording_popen(*args: object, **kwargs: object) -> subprocess.Popen[bytes]:
        process = real_popen(*args, **kwargs)  # type: ignore[call-overload]
        started.append(process)
        return process

    monkeypatch.setattr(demo_server.subprocess, "Popen", recording_popen)
    monkeypatch.setattr(demo_server, "_wait_ready", lambda server, timeout: None)
    with pytest.raises(RuntimeError, match="a step failed"), \
            demo_server.running_server("no-such-bundle", output=tmp_path / "serve.log"):
        raise RuntimeError("a step failed")
    assert started and all(p.poll() is not None for p in started)
