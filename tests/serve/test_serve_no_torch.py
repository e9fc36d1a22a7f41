"""The service never imports torch: building the app and answering a request stay light."""

from __future__ import annotations

import json
import subprocess
import sys

from bundle_helpers import Parts

SCRIPT = """
import json, sys, time
started = time.perf_counter()
from fastapi.testclient import TestClient
from kiln.serve import ServeSettings, create_app
app = create_app(sys.argv[1], ServeSettings(no_admin=True, log=sys.argv[2]))
with TestClient(app) as client:
    answer = client.post("/predict", json={"records": json.loads(sys.argv[3])})
    ready = time.perf_counter() - started
heavy = sorted(m for m in ("torch", "pandas", "mlflow", "sklearn", "scipy", "optuna")
               if m in sys.modules)
print(json.dumps({"heavy": heavy, "status": answer.status_code, "ready_s": ready}))
"""


def test_app_answers_without_torch(digits: Parts, tmp_path: object) -> None:
    result = subprocess.run([sys.executable, "-c", SCRIPT, str(digits.path),
                             f"{tmp_path}/log.db", json.dumps(digits.records[:2])],
                            capture_output=True, text=True, check=True, timeout=120)
    payload = json.loads(result.stdout.strip().splitlines()[-1])
    assert payload["heavy"] == []
    assert payload["status"] == 200
