"""`healthgraph citizen …`: a province office registers a citizen without a phone and
prints, revokes and reissues their card at the command line, under the API's rules."""

import uuid

from strawberry import relay

ACCESS_LOG = "{ me { accessLog { edges { node { action actorName } } } } }"


async def _office(partners, province="24", name="Sở Y tế Bắc Giang"):
    return await partners.create("reconcile", name=name, province_code=province)


def _uuid(node_id):
    return uuid.UUID(relay.GlobalID.from_id(node_id).node_id)


async def _register(healthgraph, *extra, office="Sở Y tế Bắc Giang"):
    return await healthgraph(
        "citizen", "register", "Lê Thị Hoa", "--born", "1948-03-02",
        "--national-id", "024190000123", "--district", "Lục Ngạn", "--office", office, *extra,
    )  # fmt: skip


async def test_register_prints_the_citizen_id_and_a_second_run_changes_nothing(
    healthgraph, graphql, partners
):
    await _office(partners)

    code, out, _ = await _register(healthgraph)
    again_code, again, again_err = await _register(healthgraph)

    assert code == 0 and again_code == 0
    assert out.strip() == again.strip()
    assert "registered already (nothing changed)" in again_err
    log = await graphql.query(ACCESS_LOG, as_citizen=_uuid(out.strip()))
    assert [e["node"] for e in log["data"]["me"]["accessLog"]["edges"]] == [
        {"action": "REGISTER", "actorName": "Sở Y tế Bắc Giang"}
    ]


async def test_register_names_every_bad_field_and_needs_a_province_office(healthgraph, partners):
    await _office(partners)
    await partners.create("checkins:staff", name="Chợ Chũ", province_code="24")

    bad_code, _, bad = await healthgraph(
        "citizen", "register", " ", "--born", "1948-03-02", "--national-id", "12",
        "--office", "Sở Y tế Bắc Giang",
    )  # fmt: skip
    not_office, _, refused = await _register(healthgraph, office="Chợ Chũ")

    assert bad_code == 1
    assert "fullName: INVALID_VALUE" in bad and "nationalId: INVALID_IDENTIFIER" in bad
    assert not_office == 1 and "no live partner holding reconcile" in refused


async def test_the_office_corrects_a_citizens_details_of_its_own_province_only(
    healthgraph, graphql, partners
):
    await _office(partners)
    await _office(partners, province="01", name="Sở Y tế Hà Nội")
    _, out, _ = await _register(healthgraph)
    citizen = out.strip()

    elsewhere, _, refused = await healthgraph(
        "citizen", "correct", citizen, "--name", "Lê Thị Hòa", "--office", "Sở Y tế Hà Nội"
    )
    bad, _, bad_err = await healthgraph(
        "citizen", "correct", citizen, "--national-id", "12", "--office", "Sở Y tế Bắc Giang"
    )
    code, corrected, _ = await healthgraph(
        "citizen", "correct", citizen, "--name", "Lê Thị Hòa", "--office", "Sở Y tế Bắc Giang"
    )

    assert elsewhere == 1 and "citizenId: NOT_FOUND" in refused
    assert bad == 1 and "nationalId: INVALID_IDENTIFIER" in bad_err
    assert (code, corrected.strip()) == (0, "corrected")
    me = await graphql.query("{ me { fullName } }", as_citizen=_uuid(citizen))
    assert me["data"]["me"]["fullName"] == "Lê Thị Hòa"


async def test_the_office_prints_revokes_and_reissues_the_card(
    healthgraph, graphql, partners, tmp_path
):
    await _office(partners)
    _, out, _ = await _register(healthgraph)
    citizen = out.strip()
    first = tmp_path / "card.svg"

    printed = await healthgraph(
        "citizen", "card", citizen, "--format", "svg", "--output", str(first),
        "--office", "Sở Y tế Bắc Giang",
    )  # fmt: skip
    again = await healthgraph(
        "citizen", "card", citizen, "--format", "pdf", "--output", str(tmp_path / "card.pdf"),
        "--office", "Sở Y tế Bắc Giang",
    )  # fmt: skip
    revoked = await healthgraph("citizen", "revoke-card", citizen, "--office", "Sở Y tế Bắc Giang")
    reissued = await healthgraph(
        "citizen", "card", citizen, "--new", "--format", "svg", "--output",
        str(tmp_path / "new.svg"), "--office", "Sở Y tế Bắc Giang",
    )  # fmt: skip

    assert printed[0] == again[0] == revoked[0] == reissued[0] == 0
    assert (tmp_path / "card.pdf").read_bytes().startswith(b"%PDF")
    assert revoked[1].strip() == "card revoked"
    assert "<svg" in first.read_text()
    assert (tmp_path / "new.svg").read_text() != first.read_text()
    log = await graphql.query(ACCESS_LOG, as_citizen=_uuid(citizen))
    actions = [e["node"]["action"] for e in log["data"]["me"]["accessLog"]["edges"]]
    assert actions == ["ISSUE_CARD", "REVOKE_CARD", "PRINT_CARD", "ISSUE_CARD", "REGISTER"]


async def test_an_office_prints_cards_of_its_own_province_only(healthgraph, partners, given):
    await _office(partners, province="01", name="Sở Y tế Hà Nội")
    citizen = await given.citizen(without_phone=True, province_code="24")
    node_id = relay.to_base64("Citizen", str(citizen))

    code, _, err = await healthgraph(
        "citizen", "card", node_id, "--format", "svg", "--output", "-",
        "--office", "Sở Y tế Hà Nội",
    )  # fmt: skip
    revoke_code, _, _ = await healthgraph(
        "citizen", "revoke-card", node_id, "--office", "Sở Y tế Hà Nội"
    )

    assert code == 1 and revoke_code == 1
    assert "no such citizen in the office's province" in err
