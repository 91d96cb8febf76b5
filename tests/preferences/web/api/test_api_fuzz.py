"""The operator API fuzzed from its own OpenAPI document (schemathesis), in process: every
operation (the suppression list's extension included), with requests the schema allows and requests it forbids. No answer may be a 5xx, a
status or content type the document does not declare, a body that does not fit its schema, or
an acceptance of a request the schema forbids.

Bounded: a fixed number of examples per operation and mode, derandomized, so a run is
reproducible and takes a few seconds an operation on this machine."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from preferences.database import make_engine, upgrade
from preferences.web.api import suppressions
from api_fuzz import call_and_validate
from test_api import KEY, make_client

EXAMPLES = 150


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('fuzz') / 'api.db'}"
    upgrade(url)
    engine = make_engine(url)
    client = make_client(engine, extensions=lambda centre: (suppressions.extension(centre),))
    yield schemathesis.openapi.from_asgi("/api/openapi.json", client.app)
    engine.dispose()


OPERATIONS = ["PUT /api/customers/{external_id}", "GET /api/customers/{external_id}", "POST /api/customers:batch",
              "GET /api/customers/{external_id}/preferences", "PATCH /api/customers/{external_id}/preferences",
              "POST /api/customers/{external_id}/unsubscribe", "GET /api/customers/{external_id}/consent-events",
              "GET /api/suppressions", "GET /api/suppressions/{id}", "POST /api/suppressions",
              "DELETE /api/suppressions/{id}"]


def test_every_operation_is_fuzzed(api):
    assert sorted(result.ok().label for result in api.get_all_operations()) == sorted(OPERATIONS)


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=lambda m: m.value)
@pytest.mark.parametrize("label", OPERATIONS)
def test_the_api_keeps_its_schema_under_fuzzing(api, label, mode):
    operation = next(r.ok() for r in api.get_all_operations() if r.ok().label == label)

    @settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode))
    def fuzz(case):
        call_and_validate(case, KEY)

    fuzz()
