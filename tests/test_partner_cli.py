"""`healthgraph partner …` issues, lists, rotates and revokes partner tokens."""

import re

import pytest

WHO = '{ citizen(id: "00000000-0000-0000-0000-000000000000") { id } }'


def authenticated(body: dict) -> bool:
    """A partner token is accepted: the refusal is about the citizen, not the caller."""
    return body["errors"][0]["extensions"]["code"] == "FORBIDDEN"


async def test_create_prints_only_the_token_and_it_works(healthgraph, graphql, engines):
    code, out, err = await healthgraph(
        "partner", "create", "Sở Y tế Bắc Giang", "--scopes", "citizen:read:vaccinations"
    )

    token = out.strip()
    assert code == 0
    assert token.startswith("hgp_") and "\n" not in token
    assert "not shown again" in err
    assert authenticated(await graphql.query(WHO, token=token))


async def test_create_names_the_partner_by_the_id_the_api_takes(healthgraph, graphql, engines):
    _, out, err = await healthgraph("partner", "create", "Sổ sức khỏe", "--scopes", "pass:verify")
    global_id = re.search(r"in the API (\S+)\)", err)

    assert global_id is not None
    itself = await graphql.query(
        "query($id: ID!) { node(id: $id) { ... on Partner { name } } }",
        {"id": global_id.group(1)},
        token=out.strip(),
    )
    assert itself["data"]["node"] == {"name": "Sổ sức khỏe"}


async def test_list_shows_partners_without_their_tokens(healthgraph, engines):
    _, token, _ = await healthgraph(
        "partner", "create", "VNeID", "--scopes", "identity:verify,citizen:read:tests"
    )

    code, out, _ = await healthgraph("partner", "list")

    assert code == 0
    assert "VNeID" in out
    assert "citizen:read:tests, identity:verify" in out
    assert token.strip()[:12] in out
    assert token.strip() not in out


async def test_revoke_stops_the_token_on_the_next_request(healthgraph, graphql, engines):
    _, out, _ = await healthgraph("partner", "create", "Lab A", "--scopes", "testing:write")
    token = out.strip()
    assert authenticated(await graphql.query(WHO, token=token))

    code, _, _ = await healthgraph("partner", "revoke", "Lab A")

    body = await graphql.query(WHO, token=token)
    assert code == 0
    assert body["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_rotate_replaces_the_token(healthgraph, graphql, engines):
    _, out, _ = await healthgraph("partner", "create", "Site B", "--scopes", "immunization:write")
    old = out.strip()

    code, out, _ = await healthgraph("partner", "rotate", "Site B")

    new = out.strip()
    assert code == 0 and new != old
    assert authenticated(await graphql.query(WHO, token=new))
    assert (await graphql.query(WHO, token=old))["errors"][0]["extensions"]["code"] == (
        "UNAUTHENTICATED"
    )


async def test_rotate_with_grace_keeps_the_old_token_working_for_a_while(
    healthgraph, graphql, engines
):
    _, out, _ = await healthgraph("partner", "create", "Site C", "--scopes", "immunization:write")
    old = out.strip()

    await healthgraph("partner", "rotate", "Site C", "--grace-minutes", "10")

    assert authenticated(await graphql.query(WHO, token=old))


@pytest.mark.parametrize(
    ("args", "complaint"),
    [
        (["--scopes", "citizen:read:everything"], "unknown scope"),
        (["--scopes", "reconcile"], "--province"),
        (["--scopes", "testing:write", "--expires", "2027-01-01T00:00"], "time zone"),
        (["--scopes", "testing:write", "--expires", "2020-01-01"], "not in the future"),
        (["--scopes", "testing:write", "--expires", "0d"], "not in the future"),
    ],
)
async def test_create_refuses_bad_input(healthgraph, engines, args, complaint):
    code, out, err = await healthgraph("partner", "create", "Bad", *args)

    assert code == 2
    assert out == ""
    assert complaint in err


async def test_revoking_an_unknown_partner_fails(healthgraph, engines):
    code, _, err = await healthgraph("partner", "revoke", "nobody")

    assert code == 1
    assert "no partner named" in err
