"""ServedModel.run_batch: one pass for many requests, and each request its own outcome."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from bundle_helpers import Parts

from kiln.errors import BundleError
from kiln.serve.served import Answered, load_served
from kiln.serve.settings import ServeSettings


def test_a_batch_answers_each_request_as_predict_does(mixed: Parts) -> None:
    model = load_served(mixed.path, ServeSettings(no_admin=True))
    requests = [mixed.records[:1], mixed.records[1:4], mixed.records[4:6]]
    results = model.run_batch(requests)
    for request, result in zip(requests, results, strict=True):
        assert isinstance(result, Answered)
        assert result.answers == model.bundle.predict(request)
        assert len(result.reasons) == len(request)


def test_a_non_finite_answer_refuses_only_its_own_request(mixed: Parts,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    model = load_served(mixed.path, ServeSettings(no_admin=True))
    real_run = model.run

    def overflowing(inputs: dict[str, Any]) -> dict[str, np.ndarray]:
        decoded = real_run(inputs)
        decoded["price"][2] = np.inf  # the batch's row 2: the second record of request 1
        return decoded

    monkeypatch.setattr(model, "run", overflowing)
    first, second, third = model.run_batch([mixed.records[:1], mixed.records[1:3],
                                            mixed.records[3:4]])
    assert isinstance(first, Answered) and isinstance(third, Answered)
    assert isinstance(second, BundleError)
    assert second.where == "records[1]"  # the index inside its own request
    assert first.answers == model.bundle.predict(mixed.records[:1])
