"""The GraphQL schema: one Query over the three stores."""

import strawberry
from strawberry import relay
from strawberry.extensions import MaxAliasesLimiter, ParserCache, QueryDepthLimiter, ValidationCache

from api.checkin import CheckIn
from api.citizen import Citizen, me
from api.errors import PublicErrors
from api.stores import reading
from api.testing import TestResult
from api.vaccination import Vaccination, Vaccine
from api.venue import Venue, resolve_venue
from models.stores import Store
from models.vaccination import all_vaccines


async def resolve_vaccines(info: strawberry.Info) -> list[Vaccine]:
    async with reading(info.context.services.engines, Store.IMMUNIZATION) as immunization:
        rows = await all_vaccines(immunization)
    return [
        Vaccine(
            code=row.code,
            name=row.name,
            brand_names=row.brand_names,
            manufacturer=row.manufacturer,
            primary_series_doses=row.primary_series_doses,
        )
        for row in rows
    ]


@strawberry.type
class Query:
    me: Citizen | None = me
    node: relay.Node | None = relay.node(
        description="Any object by its global ID; one the caller may not see is null."
    )
    vaccines: list[Vaccine] = strawberry.field(
        resolver=resolve_vaccines, description="The vaccine catalog."
    )
    venue: Venue | None = strawberry.field(
        resolver=resolve_venue, description="A venue by the code its QR carries."
    )


schema = strawberry.Schema(
    query=Query,
    types=[Citizen, Vaccination, TestResult, CheckIn],
    extensions=[
        PublicErrors,
        lambda: ParserCache(maxsize=512),
        lambda: ValidationCache(maxsize=512),
        lambda: QueryDepthLimiter(max_depth=12),
        lambda: MaxAliasesLimiter(max_alias_count=30),
    ],
)
