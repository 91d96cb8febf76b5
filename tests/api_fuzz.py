"""What the API fuzz tests share: one case sent the way it was generated, with the test's API key."""

from __future__ import annotations

import schemathesis.checks
from schemathesis import GenerationMode
from schemathesis.core.parameters import ParameterLocation

# The domain refuses some requests the schema cannot describe (an address at a reserved domain,
# an email another customer has, a range whose start is after its end): answered with a declared
# 4xx, so "schema-valid data must be accepted" does not hold and is not checked.
NOT_CHECKED = [schemathesis.checks.positive_data_acceptance]


def call_and_validate(case, key: str) -> None:
    """Send ``case`` with the key, unless the case is a wrong Authorization on purpose: a negative
    case may make the header itself invalid (empty, not a bearer key) or leave the required header
    out, and putting the valid key back would turn it into an accepted request that the check then
    reports as wrongly accepted (it did, for a case without the header: ``GET /api/suppressions``)."""
    header = case.meta.components.get(ParameterLocation.HEADER) if case.meta is not None else None
    own = header is not None and header.mode == GenerationMode.NEGATIVE
    case.call_and_validate(headers=None if own else {"Authorization": f"Bearer {key}"}, excluded_checks=NOT_CHECKED)
