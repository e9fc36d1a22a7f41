"""The serving path: importing kiln.bundle, loading and predicting never import torch."""

from __future__ import annotations

import json
import subprocess
import sys

from bundle_helpers import Parts

SCRIPT = """
import json, sys
import kiln.bundle
bundle = kiln.bundle.load(sys.argv[1])
records = json.loads(sys.argv[2])
answers = bundle.predict(records)
heavy = sorted(m for m in ("torch", "pandas", "mlflow", "sklearn", "scipy", "optuna")
               if m in sys.modules)
print(json.dumps({"heavy": heavy, "labels": [a["label"]["label"] for a in answers]}))
"""


def test_load_and_predict_without_torch(digits_bundle: Parts) -> None:
    records = digits_bundle.records[:3]
    result = subprocess.run([sys.executable, "-c", SCRIPT, str(digits_bundle.path),
                             json.dumps(records)], capture_output=True, text=True, check=True,
                            timeout=120)
    payload = json.loads(result.stdout.strip().splitlines()[-1])
    assert payload["heavy"] == []
    assert len(payload["labels"]) == 3
