"""A real `kiln serve` process: Triton's client, /metrics, the log, SIGTERM."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests
from bundle_helpers import Parts
from serve_helpers import Server, start_server

import kiln.bundle


def digits_batch(parts: Parts, n: int) -> np.ndarray:
    return np.asarray([r["image"] for r in parts.records[:n]], np.float32).reshape(n, 1, 8, 8)


@pytest.mark.parametrize("binary", [True, False])
def test_tritonclient_gets_exactly_the_bundle_predictions(digits: Parts, digits_server: Server,
                                                          binary: bool) -> None:
    import tritonclient.http as triton

    client = triton.InferenceServerClient(digits_server.url.removeprefix("http://"))
    assert client.is_server_live() and client.is_server_ready()
    assert client.is_model_ready("digits_cnn")
    meta = client.get_model_metadata("digits_cnn")
    assert meta["inputs"] == [{"name": "image", "datatype": "FP32", "shape": [-1, 1, 8, 8]}]
    x = digits_batch(digits, 7)
    tensor = triton.InferInput("image", list(x.shape), "FP32")
    tensor.set_data_from_numpy(x, binary_data=binary)
    result = client.infer("digits_cnn", [tensor], outputs=[
        triton.InferRequestedOutput("label", binary_data=binary)])
    probabilities = result.as_numpy("label")
    expected = kiln.bundle.load(digits.path).predict([{"image": v.tolist()} for v in x])
    labels = [str(i) for i in range(10)]
    assert [labels[i] for i in probabilities.argmax(axis=1)] == \
        [a["label"]["label"] for a in expected]
    np.testing.assert_allclose(
        probabilities, [[a["label"]["probabilities"][k] for k in labels] for a in expected],
        rtol=1e-6, atol=1e-7)


def test_metrics_parse_and_count(digits: Parts, digits_server: Server) -> None:
    from prometheus_client.parser import text_string_to_metric_families

    url = digits_server.url
    for _ in range(3):
        assert requests.post(f"{url}/predict",
                             json={"records": digits.records[:2]}).status_code == 200
    assert requests.post(f"{url}/predict", json={"records": [{"x": 1}]}).status_code == 422
    families = {f.name: f for f in
                text_string_to_metric_families(requests.get(f"{url}/metrics").text)}
    requests_by = {(s.labels["route"], s.labels["code"]): s.value
                   for s in families["kiln_requests"].samples if s.name.endswith("_total")}
    assert requests_by[("/predict", "200")] >= 3
    assert requests_by[("/predict", "422")] >= 1
    latency = [s for s in families["kiln_request_seconds"].samples
               if s.name.endswith("_count") and s.labels["route"] == "/predict"]
    assert latency and latency[0].value >= 4
    batch = [s for s in families["kiln_batch_rows"].samples if s.name.endswith("_sum")]
    assert batch[0].value >= 6
    assert "kiln_queue_rows" in families and "kiln_ood_flags" in families
    info = [s for s in families["kiln_model_info"].samples if s.value == 1]
    assert info[0].labels["name"] == "digits_cnn" and info[0].labels["version"]


def test_log_holds_every_answered_record_and_sigterm_drains(digits: Parts,
                                                            tmp_path: Path) -> None:
    log = tmp_path / "predictions.db"
    answered = 0
    lock = threading.Lock()
    failures: list[Any] = []
    with start_server(digits.path, "--log", str(log), "--no-admin") as server:
        def client(seed: int) -> None:
            nonlocal answered
            rng = np.random.default_rng(seed)
            with requests.Session() as session:
                for _ in range(25):
                    rows = int(rng.integers(1, 5))
                    r = session.post(f"{server.url}/predict",
                                     json={"records": digits.records[:rows]})
                    if r.status_code != 200:
                        failures.append(r.text)
                        continue
                    with lock:
                        answered += len(r.json()["predictions"])

        threads = [threading.Thread(target=client, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        request_id = requests.post(f"{server.url}/predict", json={
            "records": digits.records[:2]}, headers={"X-Request-ID": "client-42"}).json()[
            "request_id"]
        answered += 2
        assert request_id == "client-42"
        feedback = requests.post(f"{server.url}/feedback", json=[
            {"request_id": "client-42", "labels": [1, 2]},
            {"request_id": "never-seen", "labels": [3]}]).json()
        assert feedback == {"stored": ["client-42"], "unknown": ["never-seen"]}
        assert server.stop() == 0
    assert not failures
    with sqlite3.connect(log) as conn:
        assert conn.execute("SELECT COUNT(*) FROM predictions").fetchone()[0] == answered
        row = conn.execute("SELECT model, inputs, outputs, ood FROM predictions WHERE "
                           "request_id = 'client-42' AND record = 1").fetchone()
        labels = conn.execute("SELECT label FROM feedback WHERE request_id = 'client-42' "
                              "ORDER BY record").fetchall()
    from kiln import prediction_log  # the monitor's reader understands every row

    with prediction_log.connect(log, create=False) as conn:
        logged = [p for p in prediction_log.read(conn) if p.request_id == "client-42"]
    assert [p.label for p in logged] == ["1", "2"]
    assert logged[0].prediction == logged[0].outputs["label"]["label"]
    assert logged[0].confidence == logged[0].outputs["label"]["confidence"]
    assert row[0] == "digits_cnn" and json.loads(row[1]) == digits.records[1]
    assert "label" in json.loads(row[2]) and json.loads(row[3]) == []
    assert labels == [("1",), ("2",)]


def test_admin_routes_refuse_to_start_without_a_token(digits: Parts, kiln_cli: Any,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KILN_ADMIN_TOKEN", raising=False)
    code, _, err = kiln_cli("serve", str(digits.path), "--port", "1")
    assert code == 2 and "KILN_ADMIN_TOKEN" in err and "--no-admin" in err
