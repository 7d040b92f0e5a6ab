"""Personal QR cards: an opaque signed serial, one live card per citizen, printable by the
citizen or by a province operator for a citizen of its province."""

import pytest

from auth.qr import CodeKind

PERSONAL_QR = "query { me { personalQr { payload svg issuedAt } } }"
ISSUE = """
mutation($id: ID!) {
  issuePersonalQr(citizenId: $id) { personalQr { payload svg } userErrors { field code } }
}
"""


async def test_the_card_holds_nothing_readable_but_an_opaque_serial(graphql, given, qr):
    me = await given.citizen(full_name="Nguyễn Văn An", insurance_number="HS4240123456789")

    first = await graphql.query(PERSONAL_QR, as_citizen=me)
    again = await graphql.query(PERSONAL_QR, as_citizen=me)

    card = first["data"]["me"]["personalQr"]
    assert card["payload"] == again["data"]["me"]["personalQr"]["payload"]
    serial = qr.verify(card["payload"], CodeKind.PERSONAL)
    assert str(me).upper() not in card["payload"] and "0123456789" not in card["payload"]
    assert len(serial) == 16 and "<svg" in card["svg"] and "Nguyễn" not in card["svg"]


async def test_a_new_card_revokes_the_old_one(graphql, given):
    me = await given.citizen()
    old = (await graphql.query(PERSONAL_QR, as_citizen=me))["data"]["me"]["personalQr"]

    renewed = await graphql.query("mutation { renewPersonalQr { payload } }", as_citizen=me)
    now = (await graphql.query(PERSONAL_QR, as_citizen=me))["data"]["me"]["personalQr"]

    assert renewed["data"]["renewPersonalQr"]["payload"] == now["payload"] != old["payload"]


async def test_a_province_operator_prints_a_card_for_a_citizen_of_its_province(
    graphql, given, partners
):
    citizen = await given.citizen(province_code="24")
    operator = await partners.create("reconcile", province_code="24")
    elsewhere = await partners.create("reconcile", province_code="01")
    venue_operator = await partners.create("checkins:staff")

    printed = await graphql.query(ISSUE, {"id": str(citizen)}, token=operator.token)
    refused = await graphql.query(ISSUE, {"id": str(citizen)}, token=elsewhere.token)
    forbidden = await graphql.query(ISSUE, {"id": str(citizen)}, token=venue_operator.token)

    card = printed["data"]["issuePersonalQr"]["personalQr"]
    assert card["payload"].startswith("HG:P:")
    assert refused["data"]["issuePersonalQr"]["userErrors"][0]["code"] == "NOT_FOUND"
    assert forbidden["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    mine = await graphql.query(
        "query { me { personalQr { payload } accessLog { edges { node { action } } } } }",
        as_citizen=citizen,
    )
    assert mine["data"]["me"]["personalQr"]["payload"] == card["payload"]
    actions = [e["node"]["action"] for e in mine["data"]["me"]["accessLog"]["edges"]]
    assert actions == ["ISSUE_CARD"]


async def test_a_personal_card_is_the_citizens_own(graphql, given, partners):
    citizen = await given.citizen()
    reader = await partners.create("citizen:read:checkins")
    await partners.consent(citizen, reader.partner_id, "citizen:read:checkins")

    answer = await graphql.query(
        "query($id: ID!) { citizen(id: $id) { personalQr { payload } } }",
        {"id": str(citizen)},
        token=reader.token,
    )

    assert answer["data"]["citizen"]["personalQr"] is None
    assert answer["errors"][0]["extensions"]["code"] == "FORBIDDEN"


STAFF_CHECK_IN = """
mutation($input: StaffCheckInInput!) {
  staffCheckIn(input: $input) { checkIn { linked } userErrors { field code } }
}
"""
REVOKE = """
mutation($id: ID!) { revokePersonalQr(citizenId: $id) { revoked userErrors { field code } } }
"""


async def _scan(graphql, given, partners, payload):
    staff = await partners.create("checkins:staff")
    venue = await given.venue(operator_id=staff.partner_id)
    answer = await graphql.query(
        STAFF_CHECK_IN,
        {"input": {"venueCode": await given.venue_code(venue), "personalQr": payload}},
        token=staff.token,
    )
    return answer["data"]["staffCheckIn"]


async def test_a_citizen_without_a_phone_checks_in_with_the_card_their_office_printed(
    graphql, given, partners
):
    citizen = await given.citizen(without_phone=True)
    operator = await partners.create("reconcile", province_code="24")
    printed = await graphql.query(ISSUE, {"id": str(citizen)}, token=operator.token)
    payload = printed["data"]["issuePersonalQr"]["personalQr"]["payload"]

    scanned = await _scan(graphql, given, partners, payload)

    assert scanned == {"checkIn": {"linked": True}, "userErrors": []}
    (row,) = await given.check_in_rows(citizen_id=citizen)
    assert row.method == "STAFF_SCAN_PRINTED_QR"


async def test_a_card_the_office_revoked_is_refused_at_check_in_and_a_reissued_one_works(
    graphql, given, partners
):
    citizen = await given.citizen(without_phone=True)
    operator = await partners.create("reconcile", province_code="24")
    lost = await graphql.query(ISSUE, {"id": str(citizen)}, token=operator.token)
    lost_payload = lost["data"]["issuePersonalQr"]["personalQr"]["payload"]

    revoked = await graphql.query(REVOKE, {"id": str(citizen)}, token=operator.token)
    again = await graphql.query(REVOKE, {"id": str(citizen)}, token=operator.token)
    refused = await _scan(graphql, given, partners, lost_payload)
    reissued = await graphql.query(ISSUE, {"id": str(citizen)}, token=operator.token)
    accepted = await _scan(
        graphql, given, partners, reissued["data"]["issuePersonalQr"]["personalQr"]["payload"]
    )

    assert revoked["data"]["revokePersonalQr"] == {"revoked": True, "userErrors": []}
    assert again["data"]["revokePersonalQr"] == {"revoked": False, "userErrors": []}
    assert refused == {
        "checkIn": None,
        "userErrors": [{"field": "personalQr", "code": "CARD_REVOKED"}],
    }
    assert accepted["checkIn"] == {"linked": True}
    log = await graphql.query(
        "{ me { accessLog { edges { node { action } } } } }", as_citizen=citizen
    )
    actions = [e["node"]["action"] for e in log["data"]["me"]["accessLog"]["edges"]]
    assert actions == ["ISSUE_CARD", "REVOKE_CARD", "ISSUE_CARD"]


async def test_only_the_office_of_the_citizens_province_revokes_their_card(
    graphql, given, partners
):
    citizen = await given.citizen(without_phone=True)
    operator = await partners.create("reconcile", province_code="24")
    issued = await graphql.query(ISSUE, {"id": str(citizen)}, token=operator.token)
    payload = issued["data"]["issuePersonalQr"]["personalQr"]["payload"]
    elsewhere = await partners.create("reconcile", province_code="01")
    staff = await partners.create("checkins:staff")

    other_office = await graphql.query(REVOKE, {"id": str(citizen)}, token=elsewhere.token)
    venue_operator = await graphql.query(REVOKE, {"id": str(citizen)}, token=staff.token)
    themselves = await graphql.query(REVOKE, {"id": str(citizen)}, as_citizen=citizen)

    assert other_office["data"]["revokePersonalQr"]["userErrors"] == [
        {"field": "citizenId", "code": "NOT_FOUND"}
    ]
    assert venue_operator["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert themselves["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    # The card still works.
    assert (await _scan(graphql, given, partners, payload))["checkIn"] == {"linked": True}


@pytest.mark.parametrize(
    ("format", "media_type", "starts"),
    [
        ("svg", "image/svg+xml", b"<svg"),
        ("png", "image/png", b"\x89PNG"),
        ("pdf", "application/pdf", b"%PDF"),
    ],
)
async def test_the_office_prints_the_card_in_use_as_svg_png_or_pdf(
    client, graphql, given, partners, qr, caplog, format, media_type, starts
):
    citizen = await given.citizen(without_phone=True)
    operator = await partners.create("reconcile", province_code="24")
    issued = await graphql.query(ISSUE, {"id": str(citizen)}, token=operator.token)
    payload = issued["data"]["issuePersonalQr"]["personalQr"]["payload"]

    printed = await client.get(
        f"/citizens/personal-qr.{format}",
        params={"id": str(citizen)},
        headers={"Authorization": f"Bearer {operator.token}"},
    )

    assert printed.status_code == 200
    # The request's log line names the address without the citizen's ID.
    assert "/citizens/personal-qr." in caplog.text and str(citizen) not in caplog.text
    assert printed.headers["content-type"].startswith(media_type)
    assert printed.content.startswith(starts)
    if format == "svg":
        assert qr.verify(payload, CodeKind.PERSONAL) in printed.text
    log = await graphql.query(
        "{ me { accessLog { edges { node { action } } } } }", as_citizen=citizen
    )
    actions = [e["node"]["action"] for e in log["data"]["me"]["accessLog"]["edges"]]
    assert actions == ["PRINT_CARD", "ISSUE_CARD"]


async def test_the_card_is_printed_for_the_office_of_the_citizens_province_only(
    client, graphql, given, partners, issuer
):
    citizen = await given.citizen(without_phone=True)
    without_card = await given.citizen(without_phone=True)
    operator = await partners.create("reconcile", province_code="24")
    await graphql.query(ISSUE, {"id": str(citizen)}, token=operator.token)
    elsewhere = await partners.create("reconcile", province_code="01")
    staff = await partners.create("checkins:staff")

    async def get(who, token, format="pdf"):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return await client.get(
            f"/citizens/personal-qr.{format}", params={"id": str(who)}, headers=headers
        )

    assert (await get(citizen, operator.token)).status_code == 200
    assert (await get(citizen, elsewhere.token)).status_code == 403
    assert (await get(citizen, staff.token)).status_code == 403
    assert (await get(citizen, issuer.issue(citizen))).status_code == 403
    assert (await get(citizen, None)).status_code == 401
    assert (await get(citizen, operator.token, "gif")).status_code == 404
    assert (await get(without_card, operator.token)).status_code == 404
