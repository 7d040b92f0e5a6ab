"""Generated documents against the whole schema, as an anonymous caller, a citizen and a
partner: nothing answers 500 or an error without its code, and nothing is INTERNAL."""

from datetime import UTC, datetime, timedelta

import graphql
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import mutations, queries

from api.schema_export import schema_text

SCHEMA = schema_text()
_MOMENTS = st.datetimes(
    min_value=datetime(2019, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
)
SCALARS = {
    "Date": st.dates().map(lambda d: graphql.StringValueNode(value=d.isoformat())),
    "DateTime": _MOMENTS.map(lambda m: graphql.StringValueNode(value=m.isoformat())),
}
CALLERS = ("anonymous", "citizen", "partner")


@pytest.fixture
async def callers(given, partners, issuer) -> dict[str, dict[str, str]]:
    """A citizen with a record of each kind, and a partner with their consent."""
    citizen = await given.citizen(national_id="024090001234")
    await given.vaccination(national_id="024090001234")
    await given.sample(national_id="024090001234")
    scopes = ("citizen:read:vaccinations", "citizen:read:tests", "citizen:read:checkins")
    partner = await partners.create(*scopes, "exposures:read", "identity:verify")
    await partners.consent(
        citizen, partner.partner_id, *scopes, expires_at=datetime.now(UTC) + timedelta(days=1)
    )
    return {
        "anonymous": {},
        "citizen": {"authorization": f"Bearer {issuer.issue(citizen)}"},
        "partner": {"authorization": f"Bearer {partner.token}"},
    }


@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    document=st.one_of(
        queries(SCHEMA, custom_scalars=SCALARS), mutations(SCHEMA, custom_scalars=SCALARS)
    ),
    caller=st.sampled_from(CALLERS),
)
async def test_generated_documents_never_fail_as_our_fault(client, callers, document, caller):
    response = await client.post("/graphql", json={"query": document}, headers=callers[caller])

    assert response.status_code < 500, (document, response.text)
    for error in response.json().get("errors", []):
        code = (error.get("extensions") or {}).get("code")
        assert code is not None, (document, error)
        assert code != "INTERNAL", (document, error)
