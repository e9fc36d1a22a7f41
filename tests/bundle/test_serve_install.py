"""`pip install kiln[serve]` into a fresh venv: no torch, MLflow, pandas or Optuna, under
400 MB, and a bundle loads and predicts exactly as in the full install."""

from __future__ import annotations

import json
import os
import subprocess
import venv
from pathlib import Path

import pytest
from bundle_helpers import digits_frame, make_bundle

ROOT = Path(__file__).resolve().parents[2]
SIZE_LIMIT_MB = 400

PREDICT = """
import json, sys
import kiln.bundle
answers = kiln.bundle.load(sys.argv[1]).predict(json.loads(sys.argv[2]))
print(json.dumps([a["label"] for a in answers]))
"""


def _size_mb(folder: Path) -> float:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file() and
               not p.is_symlink()) / 1e6


@pytest.mark.slow
def test_serve_extra_installs_small_and_predicts_without_torch(tmp_path: Path) -> None:


    from kiln import load_blueprint

    env_dir = tmp_path / "serve-venv"
    venv.EnvBuilder(with_pip=True).create(env_dir)
    python = env_dir / "bin" / "python"
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "-c", str(ROOT / "constraints.txt"),
         f"{ROOT}[serve]"], capture_output=True, text=True, timeout=900, check=False,
        env={**os.environ, "PIP_DISABLE_PIP_VERSION_CHECK": "1"})
    assert install.returncode == 0, install.stderr[-3000:]
    listed = subprocess.run([str(python), "-m", "pip", "list", "--format=json"],
                            capture_output=True, text=True, check=True)
    installed = {p["name"].lower() for p in json.loads(listed.stdout)}
    assert not installed & {"torch", "mlflow", "pandas", "optuna", "scikit-learn"}
    size = _size_mb(env_dir)
    print(f"kiln[serve] venv: {size:.0f} MB")
    assert size < SIZE_LIMIT_MB

    parts = make_bundle(load_blueprint(ROOT / "examples" / "digits_cnn.yaml"), digits_frame(),
                        tmp_path / "digits")
    records = parts.records[:5]
    done = subprocess.run([str(python), "-c", PREDICT, str(parts.path), json.dumps(records)],
                          capture_output=True, text=True, timeout=120, check=True,
                          cwd=tmp_path)
    import kiln.bundle

    expected = [a["label"] for a in kiln.bundle.load(parts.path).predict(records)]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert [g["label"] for g in got] == [e["label"] for e in expected]
    assert [g["confidence"] for g in got] == pytest.approx([e["confidence"] for e in expected],
                                                           abs=1e-6)

    # a command that needs torch says which extra to install, in one line, no traceback
    kiln = env_dir / "bin" / "kiln"
    train = subprocess.run([str(kiln), "train", str(ROOT / "examples" / "digits_cnn.yaml")],
                           capture_output=True, text=True, timeout=120, check=False,
                           cwd=tmp_path)
    assert train.returncode != 0
    assert "pip install 'kiln[train]'" in train.stderr and "Traceback" not in train.stderr
