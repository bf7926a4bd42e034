"""Schemathesis on the workbench's OpenAPI schema, over the real app and a real case: every operation
fuzzed with a fixed seed, then the stateful run (calls chained by the links schemathesis infers from
the schema). Target (issue 15): 0 server errors, 0 schema violations.

Schemathesis's own pytest plugin does not load under pytest 9 (it reads a private node attribute),
so each operation's strategy is driven by hypothesis here.
"""

from __future__ import annotations

import pytest
import schemathesis
import web_case
from hypothesis import HealthCheck, given, seed, settings
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
)

from leaklens.web.app import create_app

SECRET = "fuzz-token"
BEARER = {"Authorization": f"Bearer {SECRET}"}  # a script's way in: no CSRF token needed
CHECKS = [not_a_server_error, response_schema_conformance, content_type_conformance, response_headers_conformance]
EXAMPLES = 40


@pytest.fixture(scope="module")
def api_schema(tmp_path_factory):
    case = web_case.build(tmp_path_factory.mktemp("apifuzz"))
    case.close()
    app = create_app(case.root, auth_token=SECRET)
    return schemathesis.openapi.from_asgi("/openapi.json", app, headers=BEARER)


def _operations(api_schema) -> list:
    return [result.ok() for result in api_schema.get_all_operations()]


def _fuzz(api_schema, examples: int = EXAMPLES) -> dict[str, set[int]]:
    """Every operation with `examples` generated cases; raises on the first failed check. Returns the
    status codes seen per operation."""
    seen: dict[str, set[int]] = {}
    for operation in _operations(api_schema):

        @seed(20261203)
        @settings(max_examples=examples, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        @given(case=operation.as_strategy())
        def run(case):  # noqa: ANN001
            response = case.call_and_validate(headers=BEARER, checks=CHECKS)
            seen.setdefault(case.operation.label, set()).add(response.status_code)

        run()
    return seen


def test_every_operation_fixed_seed(api_schema):
    seen = _fuzz(api_schema)
    assert len(seen) >= 12, sorted(seen)  # the API's operations, tags and notes included
    assert any(200 <= code < 300 for codes in seen.values() for code in codes)
    assert 201 in seen["POST /api/items/{item_id}/tags"] or 404 in seen["POST /api/items/{item_id}/tags"]


def test_the_fuzz_finds_a_server_error():
    """The driver can fail: an app whose route breaks on some input is caught."""
    from fastapi import FastAPI

    app = FastAPI()

    @app.get("/api/boom")
    def boom(n: int) -> dict:
        return {"n": 10 // (n % 7)}  # ZeroDivisionError -> 500 for every multiple of 7

    # Over ASGI the app's exception reaches the test itself (a 500 when served): either way it fails.
    with pytest.raises(ZeroDivisionError):
        _fuzz(schemathesis.openapi.from_asgi("/openapi.json", app), examples=100)


def test_stateful(api_schema):
    machine = api_schema.as_state_machine()

    class Calls(machine):  # type: ignore[misc, valid-type]
        def get_call_kwargs(self, case):  # noqa: ANN001, ANN201 - schemathesis's hook
            return {"headers": BEARER}

        def validate_response(self, response, case, **kwargs):  # noqa: ANN001, ANN201
            case.validate_response(response, checks=CHECKS)

    Calls.run(
        settings=settings(
            max_examples=30,
            stateful_step_count=6,
            deadline=None,
            derandomize=True,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
    )
