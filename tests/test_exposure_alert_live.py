"""The exposureAlert subscription: an alert reaches the exposed citizen live, naming no case."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from strawberry import relay

from models.venue import VenueKind

SUBSCRIPTION = "subscription { exposureAlert { id venue { name } exposedAt watchUntil advice } }"
MARK_CASE = """
mutation($input: MarkCaseInput!) { markCase(input: $input) { alertsRaised userErrors { code } } }
"""
NOON = datetime(2026, 11, 10, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def server(app_servers: Any) -> Any:
    return app_servers(1)[0]


async def _mark(server: Any, token: str, case: Any) -> None:
    variables = {
        "input": {
            "caseCitizenId": relay.to_base64("Citizen", case),
            "from": (NOON - timedelta(days=1)).isoformat(),
            "to": (NOON + timedelta(days=1)).isoformat(),
        }
    }
    body = await server.query(MARK_CASE, variables, token=token)
    assert body["data"]["markCase"]["userErrors"] == [], body


async def _alerted(
    socket: Any, server: Any, token: str, given: Any, case: Any, contact: Any, venue: Any
) -> dict[str, Any]:
    """The first alert event. The subscription listens a moment after the subscribe
    message, and marking a case again raises nothing twice, so each try adds one more
    check-in of the contact near the case and marks the case again."""
    for minute in range(1, 40):
        await given.check_in(contact, venue, NOON + timedelta(minutes=minute))
        await _mark(server, token, case)
        try:
            message = await socket.receive(timeout=0.5)
        except TimeoutError:
            continue
        assert message["type"] == "next", message
        return dict(message)
    raise AssertionError("no alert arrived")


async def test_a_marked_case_alerts_the_subscribed_contact_without_naming_the_case(
    server, given, partners, issuer, live_socket
):
    case = await given.citizen(full_name="Phạm Văn Đức", phone="0911222444")
    contact, bystander = await given.citizen(), await given.citizen()
    market = await given.venue(VenueKind.MARKET, name="Chợ Lục Ngạn")
    await given.check_in(case, market, NOON)
    authority = await partners.create("exposures:read", "exposures:authority", province_code="24")
    async with (
        live_socket(server.websocket_url) as on_contact,
        live_socket(server.websocket_url) as on_bystander,
    ):
        for socket, citizen in ((on_contact, contact), (on_bystander, bystander)):
            ack = await socket.init({"Authorization": f"Bearer {issuer.issue(citizen)}"})
            assert ack["type"] == "connection_ack"
            await socket.subscribe(SUBSCRIPTION)

        message = await _alerted(on_contact, server, authority.token, given, case, contact, market)

        alert = message["payload"]["data"]["exposureAlert"]
        assert alert["venue"] == {"name": "Chợ Lục Ngạn"}
        assert alert["watchUntil"] == "2026-11-24"
        text = json.dumps(message, ensure_ascii=False)
        case_traits = (str(case), relay.to_base64("Citizen", case), "Phạm Văn Đức", "0911222444")
        assert [trait for trait in case_traits if trait in text] == []
        with pytest.raises(TimeoutError):
            await on_bystander.receive(timeout=1)
