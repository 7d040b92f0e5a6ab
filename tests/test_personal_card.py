"""Personal QR cards: an opaque signed serial, one live card per citizen, printable by the
citizen or by a province operator for a citizen of its province."""

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
