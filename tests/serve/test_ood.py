"""Answers: what each record carries, and the out-of-distribution policy."""

from __future__ import annotations

from pathlib import Path

from bundle_helpers import Parts
from serve_helpers import ClientFactory

import kiln.bundle

FAR = {"a": 500.0, "b": 0.5, "city": "tokyo", "note": "red"}


def test_answers_match_the_bundle_and_carry_identity(client: ClientFactory,
                                                      mixed: Parts) -> None:
    records = mixed.records[:5]
    expected = kiln.bundle.load(mixed.path).predict(records)
    with client(mixed.path) as c:
        r = c.post("/predict", json={"records": records}, headers={"X-Request-ID": "abc-1"})
        columns = c.post("/predict", json={"inputs": {k: [r[k] for r in records]
                                                      for k in records[0]}})
    body = r.json()
    assert r.headers["x-request-id"] == body["request_id"] == "abc-1"
    assert body["model"] == "mixed" and len(body["version"]) == 12
    for answer, want in zip(body["predictions"], expected, strict=True):
        assert answer["outputs"] == want
        assert answer["prediction"] == answer["value"] == want["price"]["value"]
        assert answer["ood"] == {"flagged": False, "reasons": []}
        assert answer["abstained"] is False
    assert [a["outputs"] for a in columns.json()["predictions"]] == expected


def test_flag_policy_answers_and_flags(client: ClientFactory, mixed: Parts) -> None:
    with client(mixed.path) as c:
        answer = c.post("/predict", json={"records": [FAR, {**FAR, "a": None}]}).json()
        metrics = c.get("/metrics").text
    far, missing = answer["predictions"]
    assert far["ood"]["flagged"] and far["prediction"] is not None
    reasons = " | ".join(far["ood"]["reasons"])
    assert "above the training maximum" in reasons and "standard deviations" in reasons
    assert "'tokyo' was not seen" in reasons
    assert any("missing" in r for r in missing["ood"]["reasons"])
    assert 'kiln_ood_flags_total{kind="zscore"} 1.0' in metrics
    assert 'kiln_ood_flags_total{kind="missing"} 1.0' in metrics


def test_abstain_policy(client: ClientFactory, mixed: Parts) -> None:
    with client(mixed.path, ood_policy="abstain") as c:
        answers = c.post("/predict", json={"records": [FAR, mixed.records[0]]}).json()
    far, ordinary = answers["predictions"]
    assert far["abstained"] is True and "standard deviations" in far["reason"]
    assert "prediction" not in far and far["ood"]["flagged"]
    assert ordinary["abstained"] is False and "prediction" in ordinary


def test_fallback_policy(client: ClientFactory, mixed: Parts, tmp_path: Path) -> None:
    with client(mixed.path, ood_policy="fallback", fallback_bundle=str(mixed.path)) as c:
        far = c.post("/predict", json={"records": [FAR]}).json()["predictions"][0]
    expected = kiln.bundle.load(mixed.path).predict([FAR])[0]
    assert far["answered_by"].startswith("mixed:") and far["outputs"] == expected
    assert far["ood"]["flagged"]


def test_range_reasons_are_the_bundles_flags(mixed: Parts, digits: Parts) -> None:
    from kiln.serve.ood import OutOfDistribution

    cases = [(mixed.path, [FAR, {**FAR, "a": -300.0, "city": 3}, *mixed.records[:5],
                           {**FAR, "a": None, "b": 2.5}]),
             (digits.path, [{"image": [[30.0] * 8] * 8}, {"image": [[-1.0] * 8] * 8},
                            *digits.records[:5]])]
    for path, records in cases:
        bundle = kiln.bundle.load(path)
        ood = OutOfDistribution(bundle, z=6.0, confidence_quantile="0.01")
        ours = [[text for kind, text in reasons if kind in ("range", "missing")]
                for reasons in ood.input_reasons(records)]
        assert ours == bundle.flags(records)
        assert any(ours)
