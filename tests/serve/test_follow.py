"""`models:/NAME@champion` with follow: the service moves when the alias moves."""

from __future__ import annotations

import time

import pytest
from bundle_helpers import Parts
from serve_helpers import ClientFactory


@pytest.mark.slow
def test_follow_reloads_when_the_alias_moves(client: ClientFactory, digits: Parts,
                                             digits_v2: Parts) -> None:
    from kiln.registry import promote, register

    register(digits.path, name="digits")
    register(digits_v2.path, name="digits")
    promote("digits", 1)
    record = {"records": digits.records[:1]}
    with client("models:/digits@champion", follow_s=0.2) as c:
        first = c.post("/predict", json=record).json()
        assert (first["model"], first["version"]) == ("digits", "1")
        assert c.get("/v2/models/digits/versions/1/ready").status_code == 200
        promote("digits", 2)
        version = "1"
        for _ in range(100):
            version = c.post("/predict", json=record).json()["version"]
            if version == "2":
                break
            time.sleep(0.1)
        assert version == "2"
        assert "kiln_reloads_total{outcome=\"reload\"} 1.0" in c.get("/metrics").text
