"""Fuzz the HTTP API from its own OpenAPI schema with schemathesis, against the real server process."""

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from support.server import running_service

CASES_PER_OPERATION = 200


@pytest.fixture(scope="module")
def live():
    with running_service(max_queue=4096) as (base, proc):
        yield base, proc


def fuzz_operation(op, calls: dict) -> None:
    @settings(max_examples=CASES_PER_OPERATION, deadline=None, database=None, suppress_health_check=list(HealthCheck))
    @given(case=op.as_strategy())
    def fuzz(case):
        response = case.call(timeout=30)
        calls[op.path] += 1
        case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])

    fuzz()


def test_generated_requests_never_get_a_5xx_and_answers_match_the_schema(live):
    base, proc = live
    schema = schemathesis.openapi.from_url(base + "/openapi.json")
    schema.config.base_url = base
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} >= {"/predict", "/predict/overlap", "/predict/sum", "/ready", "/health",
                                                "/v2/models/{model}/infer", "/v2/models/{model}"}
    calls = {}
    for op in operations:
        calls[op.path] = 0
        fuzz_operation(op, calls)
    assert proc.poll() is None, "the server died during fuzzing"
    assert sum(calls.values()) >= 3 * 100, calls
    print("schemathesis cases per operation:", calls)
