"""schemathesis against the service's own OpenAPI schema: generated requests over every
route, valid and invalid (negative mode), and not one answer ≥ 500."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest
import requests
from serve_helpers import Server

EXAMPLES_PER_ROUTE = 40  # × 2 modes × ~18 operations: well over 500 cases, ~1 min on 2 cores


@pytest.mark.slow
def test_no_generated_request_gets_a_5xx(digits_server: Server) -> None:
    import schemathesis
    from hypothesis.errors import Unsatisfiable
    from schemathesis.generation.modes import GenerationMode

    schema = schemathesis.openapi.from_url(f"{digits_server.url}/openapi.json")
    cases: Counter[str] = Counter()
    errors: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 15
    with requests.Session() as session:
        for operation in operations:
            for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
                try:
                    _fuzz(operation, mode, digits_server.url, session, cases, errors)
                except Unsatisfiable:  # nothing to make invalid (a GET without parameters)
                    assert mode == GenerationMode.NEGATIVE, operation.label
    assert not errors, errors[:5]
    assert sum(cases.values()) >= 500, cases


def _fuzz(operation: Any, mode: Any, url: str, session: requests.Session,
          cases: Counter[str], errors: list[str]) -> None:
    from hypothesis import HealthCheck, given, settings

    @settings(max_examples=EXAMPLES_PER_ROUTE, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def check(case: Any) -> None:
        response = case.call(base_url=url, session=session, timeout=30)
        cases[operation.label] += 1
        if response.status_code >= 500:
            errors.append(f"{operation.label} {mode}: {response.status_code} "
                          f"{response.text[:200]} for {case.body!r:.200}")

    check()
