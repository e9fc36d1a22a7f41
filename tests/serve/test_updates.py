"""Reload and rollback while 16 clients keep sending: no failure, and every answer comes from
the version it names."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import requests
from bundle_helpers import Parts
from serve_helpers import TOKEN, ClientFactory, start_server

import kiln.bundle
from kiln.serve.served import bundle_version

CLIENTS = 16


def test_reload_and_rollback_under_load(digits: Parts, digits_v2: Parts,
                                        tmp_path: Path) -> None:
    record = digits.records[0]
    v1, v2 = kiln.bundle.load(digits.path), kiln.bundle.load(digits_v2.path)
    expected = {bundle_version(b): b.predict([record])[0]["label"]["probabilities"]
                for b in (v1, v2)}
    assert len(expected) == 2
    assert not _close(*expected.values())  # the two versions are told apart
    failures: list[str] = []
    seen: dict[str, int] = {}
    lock = threading.Lock()
    stop = threading.Event()
    auth = {"Authorization": f"Bearer {TOKEN}"}

    with start_server(digits.path, "--log", str(tmp_path / "log.db"),
                      env={"KILN_ADMIN_TOKEN": TOKEN}) as server:
        def client() -> None:
            with requests.Session() as session:
                while not stop.is_set():
                    r = session.post(f"{server.url}/predict", json={"records": [record]})
                    body: Any = r.json()
                    with lock:
                        if r.status_code != 200:
                            failures.append(r.text)
                        elif not _close(body["predictions"][0]["probabilities"],
                                        expected[body["version"]]):
                            failures.append(f"version {body['version']} answered with "
                                            f"another version's probabilities")
                        else:
                            seen[body["version"]] = seen.get(body["version"], 0) + 1

        threads = [threading.Thread(target=client) for _ in range(CLIENTS)]
        for t in threads:
            t.start()
        time.sleep(0.5)
        steps = [("reload", {"bundle": str(digits_v2.path)}), ("rollback", None),
                 ("rollback", None), ("reload", {"bundle": str(digits.path)})]
        answers = []
        for action, body in steps:
            r = requests.post(f"{server.url}/admin/{action}", json=body, headers=auth,
                              timeout=60)
            answers.append((r.status_code, r.json()))
            time.sleep(0.4)
        bad = requests.post(f"{server.url}/admin/reload", json={"bundle": str(tmp_path)},
                            headers=auth, timeout=60)
        time.sleep(0.2)
        stop.set()
        for t in threads:
            t.join()
    assert not failures, failures[:3]
    assert [a[0] for a in answers] == [200, 200, 200, 200]
    assert answers[0][1]["version"] == bundle_version(v2)
    assert answers[1][1]["version"] == bundle_version(v1)
    assert answers[2][1]["version"] == bundle_version(v2)  # rollback of a rollback
    assert set(seen) == set(expected) and min(seen.values()) > 10
    assert bad.status_code == 409 and "still serving" in bad.json()["error"]


def test_a_bundle_with_another_signature_is_refused(client: ClientFactory, digits: Parts,
                                                    mixed: Parts) -> None:
    auth = {"Authorization": f"Bearer {TOKEN}"}
    with client(digits.path) as c:
        version = c.post("/predict", json={"records": digits.records[:1]}).json()["version"]
        r = c.post("/admin/reload", json={"bundle": str(mixed.path)}, headers=auth)
        assert r.status_code == 409 and "signature differs" in r.json()["error"]
        assert c.post("/admin/rollback", headers=auth).status_code == 409  # nothing before
        assert c.post("/predict", json={"records": digits.records[:1]}).json()["version"] \
            == version
        assert c.post("/admin/reload", headers={"Authorization": "Bearer nope"}
                      ).status_code == 403
        r = c.post("/admin/reload")
        assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"


def test_no_admin_has_no_admin_routes(client: ClientFactory, digits: Parts) -> None:
    with client(digits.path, no_admin=True, admin_token=None) as c:
        assert c.post("/admin/reload", headers={"Authorization": f"Bearer {TOKEN}"}
                      ).status_code == 404


def _close(a: dict[str, float], b: dict[str, float]) -> bool:
    """Equal up to float32 noise (a batch of 40 rows may round differently from one)."""
    return a.keys() == b.keys() and all(abs(a[k] - b[k]) < 1e-5 for k in a)
