"""Whoever the holder is, a pass says no more than its few fields."""

import uuid
from datetime import UTC, date, datetime, timedelta

import jwt
from hypothesis import given, settings
from hypothesis import strategies as st

from auth.health_pass import PASS_CLAIMS, PassCheck, PassContent, holder_shows
from models.health_pass import Holder
from models.health_status import Colour

names = st.text(alphabet=st.characters(categories=["L", "Zs"], max_codepoint=0x1EFF), max_size=60)
holders = st.builds(
    Holder,
    full_name=names,
    date_of_birth=st.none() | st.dates(min_value=date(1900, 1, 1), max_value=date(2026, 1, 1)),
    shows_full_name=st.booleans(),
)


@settings(max_examples=150, deadline=None)
@given(holder=holders, colour=st.sampled_from(Colour), days=st.integers(1, 30))
def test_no_pass_carries_more_than_its_fields(pass_issuer, holder, colour, days):
    initials, year, name = holder_shows(holder)
    issued = datetime(2026, 12, 1, 8, tzinfo=UTC)
    content = PassContent(
        uuid.uuid4(), colour, initials, year, name, issued, issued + timedelta(days=days)
    )

    credential = pass_issuer.sign(content)
    claims = jwt.decode(credential, options={"verify_signature": False})
    verdict, read = pass_issuer.read(credential, issued)

    assert set(claims) <= PASS_CLAIMS
    assert ("name" in claims) == (holder.shows_full_name and bool(holder.full_name))
    assert claims.get("yob") == (holder.date_of_birth.year if holder.date_of_birth else None)
    # One letter per word (a few letters capitalise to two or three characters).
    assert len(claims["ini"]) <= 3 * len(holder.full_name.split())
    assert (verdict, read) == (PassCheck.VALID, content)
