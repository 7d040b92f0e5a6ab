"""Venue operators register and close their own venues and print their posters."""

import re

import segno

from api.cli import main
from auth.qr import CodeKind

REGISTER = """
mutation($input: RegisterVenueInput!) {
  registerVenue(input: $input) {
    venue { code name kind provinceCode district address closedAt }
    userErrors { field code }
  }
}
"""
CLOSE = """
mutation($code: String!) {
  closeVenue(code: $code) { venue { code closedAt } userErrors { field code } }
}
"""
NEW_VENUE = {
    "name": "Điểm cân vải thiều Phượng Sơn số 3",
    "kind": "LYCHEE_WEIGHING_STATION",
    "provinceCode": "24",
    "district": "Lục Ngạn",
    "address": "Xã Phượng Sơn",
}


async def test_an_operator_registers_a_venue_and_gets_its_code(graphql, partners):
    operator = await partners.create("checkins:staff")

    answer = await graphql.query(REGISTER, {"input": NEW_VENUE}, token=operator.token)

    venue = answer["data"]["registerVenue"]["venue"]
    assert venue["code"].startswith("24-CV-")
    assert venue["district"] == "Lục Ngạn" and venue["closedAt"] is None
    found = await graphql.query(
        "query($code: String!) { venue(code: $code) { name } }", {"code": venue["code"]}
    )
    assert found["data"]["venue"]["name"] == NEW_VENUE["name"]


async def test_registering_a_venue_needs_the_checkins_staff_scope(graphql, partners, given):
    reader = await partners.create("citizen:read:checkins")
    citizen = await given.citizen()

    as_reader = await graphql.query(REGISTER, {"input": NEW_VENUE}, token=reader.token)
    as_citizen = await graphql.query(REGISTER, {"input": NEW_VENUE}, as_citizen=citizen)

    assert as_reader["errors"][0]["extensions"]["code"] == "FORBIDDEN"
    assert as_citizen["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_an_operator_of_one_province_registers_venues_there_only(graphql, partners):
    operator = await partners.create("checkins:staff", province_code="01")

    elsewhere = await graphql.query(REGISTER, {"input": NEW_VENUE}, token=operator.token)
    at_home = await graphql.query(
        REGISTER, {"input": {**NEW_VENUE, "provinceCode": "01"}}, token=operator.token
    )

    assert elsewhere["data"]["registerVenue"]["userErrors"][0]["field"] == "provinceCode"
    assert at_home["data"]["registerVenue"]["venue"]["provinceCode"] == "01"


async def test_an_operator_closes_its_own_venue_only(graphql, partners):
    mine = await partners.create("checkins:staff")
    theirs = await partners.create("checkins:staff")
    registered = await graphql.query(REGISTER, {"input": NEW_VENUE}, token=mine.token)
    code = registered["data"]["registerVenue"]["venue"]["code"]

    refused = await graphql.query(CLOSE, {"code": code}, token=theirs.token)
    closed = await graphql.query(CLOSE, {"code": code}, token=mine.token)

    assert refused["data"]["closeVenue"]["userErrors"][0]["code"] == "NOT_YOUR_VENUE"
    assert closed["data"]["closeVenue"]["venue"]["closedAt"] is not None


async def test_the_poster_is_for_the_venues_operator_only(client, partners, given, qr, issuer):
    mine = await partners.create("checkins:staff")
    theirs = await partners.create("checkins:staff")
    venue_id = await given.venue(name="Quán Phở Hùng", operator_id=mine.partner_id)
    code = await given.venue_code(venue_id)
    citizen = issuer.issue(await given.citizen())

    async def poster(code: str, token: str | None):
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return await client.get(f"/venues/{code}/qr.svg", headers=headers)

    own = await poster(code, mine.token)
    other = await poster(code, theirs.token)
    missing = await poster("24-NH-NOTHERE", mine.token)
    as_citizen = await poster(code, citizen)
    anonymous = await poster(code, None)

    assert own.status_code == 200
    assert own.headers["content-type"].startswith("image/svg+xml")
    assert "Quán Phở Hùng" in own.text and code in own.text
    # segno drew the signed code: its path for that payload is in the poster.
    drawn = re.search(
        r' d="([^"]+)"', segno.make_qr(qr.sign(CodeKind.VENUE, code), error="m").svg_inline()
    )
    assert drawn is not None and drawn.group(1) in own.text
    assert other.status_code == missing.status_code == as_citizen.status_code == 403
    assert anonymous.status_code == 401


def test_the_venue_code_fits_a_small_fast_qr_symbol(qr):
    payload = qr.sign(CodeKind.VENUE, "24-CV-7K3QX9A")
    symbol = segno.make_qr(payload, error="m")

    assert len(payload) == 35
    assert symbol.mode == "alphanumeric"
    assert symbol.version == 2 and symbol.symbol_size(border=0) == (25, 25)


def test_the_cli_registers_lists_closes_and_prints_posters(
    store_urls, settings, monkeypatch, capsys, tmp_path, engines
):
    for name, url in (
        ("CORE", store_urls.core),
        ("IMMUNIZATION", store_urls.immunization),
        ("TESTING", store_urls.testing),
    ):
        monkeypatch.setenv(f"HEALTHGRAPH_{name}_DATABASE_URL", url)
    monkeypatch.setenv("HEALTHGRAPH_DATA_DIR", str(settings.data_dir))
    from models.config import get_settings

    get_settings.cache_clear()
    try:
        assert main(["venue", "create", "Chợ Chũ", "--kind", "MARKET", "--province", "24"]) == 0
        code = capsys.readouterr().out.split()[0]
        assert main(["venue", "list", "--province", "24"]) == 0
        assert code in capsys.readouterr().out
        outputs = {}
        for format in ("svg", "png", "pdf"):
            outputs[format] = tmp_path / f"poster.{format}"
            assert (
                main(["venue", "qr", code, "--format", format, "--output", str(outputs[format])])
                == 0
            )
        assert main(["venue", "close", code]) == 0
        assert "closed" in capsys.readouterr().out
        assert main(["venue", "qr", "24-NH-NOTHERE"]) == 1
    finally:
        get_settings.cache_clear()
    assert "Chợ Chũ" in outputs["svg"].read_text()
    assert outputs["png"].read_bytes().startswith(b"\x89PNG")
    assert outputs["pdf"].read_bytes().startswith(b"%PDF")
