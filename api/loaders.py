"""Per-request DataLoaders. Every read of a citizen's rows goes through `Access`."""

import asyncio
import uuid
from collections.abc import Sequence
from functools import cached_property, partial
from typing import Any

from sqlalchemy import Row
from strawberry.dataloader import DataLoader

from api.access import Access
from api.errors import ApiError, not_visible
from api.health_pass import EvaluatedPass, load_health_passes
from auth.health_pass import PassIssuer
from auth.scopes import Section
from models.audit import audit_page
from models.base import PageKey
from models.checkin import check_in_pages, check_ins_by_ids
from models.citizen import citizens_by_ids
from models.consent import consents_of
from models.link import (
    LinkMethod,
    RecordStore,
    link_methods,
    linked_record_ids,
    linked_record_pages,
    owner_of,
)
from models.profile import Profile, profiles
from models.stores import Engines, Store, fetching
from models.testing import PoolResult, pool_results, samples_by_ids
from models.vaccination import valid_records_by_ids
from models.venue import venues_by_codes

__all__ = ["Access", "Loaders", "Section"]

RecordIds = dict[RecordStore, list[uuid.UUID]]


class Loaders:
    def __init__(self, engines: Engines, access: Access, passes: PassIssuer | None = None) -> None:
        self.engines = engines
        self.access = access
        self.passes = passes

    # Each made on first use: a request a compiled plan answers needs none of them.
    @cached_property
    def citizen(self) -> DataLoader[uuid.UUID, Row[Any] | ApiError | None]:
        return DataLoader(self._citizens)

    @cached_property
    def record_ids(self) -> DataLoader[uuid.UUID, RecordIds]:
        return DataLoader(self._record_ids)

    @cached_property
    def vaccinations(self) -> DataLoader[uuid.UUID, list[Row[Any]] | ApiError]:
        return DataLoader(self._vaccinations)

    @cached_property
    def test_result_page(self) -> DataLoader[PageKey, list[Row[Any]] | ApiError]:
        return DataLoader(self._test_result_pages)

    @cached_property
    def check_in_page(self) -> DataLoader[PageKey, list[Row[Any]] | ApiError]:
        return DataLoader(self._check_in_pages)

    @cached_property
    def venue_by_code(self) -> DataLoader[str, Row[Any] | None]:
        return DataLoader(self._venues_by_code)

    @cached_property
    def vaccination_node(self) -> DataLoader[uuid.UUID, Row[Any] | None]:
        return DataLoader(self._vaccination_nodes)

    @cached_property
    def test_result_node(self) -> DataLoader[uuid.UUID, Row[Any] | None]:
        return DataLoader(self._test_result_nodes)

    @cached_property
    def check_in_node(self) -> DataLoader[uuid.UUID, Row[Any] | None]:
        return DataLoader(self._check_in_nodes)

    @cached_property
    def consents(self) -> DataLoader[uuid.UUID, list[Row[Any]]]:
        return DataLoader(self._consents)

    @cached_property
    def access_log_page(self) -> DataLoader[PageKey, list[Row[Any]]]:
        return DataLoader(self._access_log_pages)

    @cached_property
    def link_method(self) -> DataLoader[tuple[RecordStore, uuid.UUID], LinkMethod | None]:
        """How records already shown to the caller were matched (their provenance)."""
        return DataLoader(self._link_methods)

    @cached_property
    def pool_result(self) -> DataLoader[str, PoolResult | None]:
        """The result of a pooled tube, shared by every sample in it."""
        return DataLoader(self._pool_results)

    @cached_property
    def profile(self) -> DataLoader[uuid.UUID, Profile | None]:
        return DataLoader(self._profiles)

    @cached_property
    def health_pass(self) -> DataLoader[uuid.UUID, EvaluatedPass | None]:
        assert self.passes is not None, "the app builds a pass issuer at start-up"
        return DataLoader(partial(load_health_passes, self, self.passes))

    def prefetch_record_ids(self, citizen_id: uuid.UUID) -> None:
        """Start loading a citizen's vaccination links; a failure surfaces where they are
        used."""
        future = asyncio.ensure_future(self.record_ids.load(citizen_id))
        future.add_done_callback(lambda done: done.cancelled() or done.exception())

    async def _allowed(self, ids: Sequence[uuid.UUID], section: Section) -> list[uuid.UUID]:
        return await self.access.readable(ids, section)

    async def _citizens(self, ids: list[uuid.UUID]) -> list[Row[Any] | ApiError | None]:
        allowed = await self._allowed(ids, Section.PROFILE)
        found: dict[uuid.UUID, Row[Any]] = {}
        if allowed:
            async with fetching(self.engines, Store.CORE) as core:
                found = {row.id: row for row in await citizens_by_ids(core, allowed)}
        return [found.get(i) if i in allowed else not_visible() for i in ids]

    async def _record_ids(self, ids: list[uuid.UUID]) -> list[RecordIds]:
        # Only reached through the section loaders below, which check access first.
        # Vaccinations are listed whole; test results page in linked_record_pages.
        async with fetching(self.engines, Store.CORE) as core:
            found = await linked_record_ids(core, ids, [RecordStore.IMMUNIZATION])
        return [found[i] for i in ids]

    async def _records_of(
        self,
        ids: list[uuid.UUID],
        section: Section,
        record_store: RecordStore,
        store: Store,
        fetch: Any,
    ) -> list[list[Row[Any]] | ApiError]:
        allowed = await self._allowed(ids, section)
        owned: dict[uuid.UUID, list[uuid.UUID]] = {}
        if allowed:
            for citizen_id, record_ids in zip(
                allowed, await self.record_ids.load_many(allowed), strict=True
            ):
                owned[citizen_id] = record_ids[record_store]
        owner = {record_id: citizen for citizen, records in owned.items() for record_id in records}
        grouped: dict[uuid.UUID, list[Row[Any]]] = {citizen_id: [] for citizen_id in owned}
        if owner:
            async with fetching(self.engines, store) as connection:
                # In the order the query gives (oldest dose first, newest sample first).
                for row in await fetch(connection, list(owner)):
                    grouped[owner[row.id]].append(row)
        return [grouped[i] if i in owned else not_visible() for i in ids]

    async def _vaccinations(self, ids: list[uuid.UUID]) -> list[list[Row[Any]] | ApiError]:
        return await self._records_of(
            ids,
            Section.VACCINATIONS,
            RecordStore.IMMUNIZATION,
            Store.IMMUNIZATION,
            valid_records_by_ids,
        )

    async def _test_result_pages(self, keys: list[PageKey]) -> list[list[Row[Any]] | ApiError]:
        """Pages of test results: the page is chosen among the record links (core store),
        then only its samples are read."""
        readable = set(await self._allowed([k.citizen_id for k in keys], Section.TESTS))
        allowed = [k for k in keys if k.citizen_id in readable]
        record_pages: list[list[uuid.UUID]] = []
        if allowed:
            async with fetching(self.engines, Store.CORE) as core:
                record_pages = await linked_record_pages(core, RecordStore.TESTING, allowed)
        wanted = [record_id for page in record_pages for record_id in page]
        found: dict[uuid.UUID, Row[Any]] = {}
        if wanted:
            async with fetching(self.engines, Store.TESTING) as testing:
                found = {row.id: row for row in await samples_by_ids(testing, wanted)}
        pages = {
            key: [found[i] for i in page if i in found]
            for key, page in zip(allowed, record_pages, strict=True)
        }
        return [pages[k] if k in pages else not_visible() for k in keys]

    async def _check_in_pages(self, keys: list[PageKey]) -> list[list[Row[Any]] | ApiError]:
        readable = set(await self._allowed([k.citizen_id for k in keys], Section.CHECKINS))
        allowed = [k for k in keys if k.citizen_id in readable]
        pages: dict[PageKey, list[Row[Any]]] = {}
        if allowed:
            async with fetching(self.engines, Store.CORE) as core:
                pages = dict(zip(allowed, await check_in_pages(core, allowed), strict=True))
        return [pages[k] if k in pages else not_visible() for k in keys]

    async def _venues_by_code(self, codes: list[str]) -> list[Row[Any] | None]:
        async with fetching(self.engines, Store.CORE) as core:
            found = {row.code: row for row in await venues_by_codes(core, codes)}
        return [found.get(code) for code in codes]

    async def _owned_nodes(
        self,
        ids: list[uuid.UUID],
        section: Section,
        record_store: RecordStore,
        store: Store,
        fetch: Any,
    ) -> list[Row[Any] | None]:
        """Records by ID, only those the caller may see; the others look absent."""
        async with fetching(self.engines, Store.CORE) as core:
            owners = await owner_of(core, record_store, ids)
        readable = set(await self._allowed(list(set(owners.values())), section))
        visible = [i for i in ids if i in owners and owners[i] in readable]
        found: dict[uuid.UUID, Row[Any]] = {}
        if visible:
            async with fetching(self.engines, store) as connection:
                found = {row.id: row for row in await fetch(connection, visible)}
        return [found.get(i) for i in ids]

    async def _vaccination_nodes(self, ids: list[uuid.UUID]) -> list[Row[Any] | None]:
        return await self._owned_nodes(
            ids,
            Section.VACCINATIONS,
            RecordStore.IMMUNIZATION,
            Store.IMMUNIZATION,
            valid_records_by_ids,
        )

    async def _test_result_nodes(self, ids: list[uuid.UUID]) -> list[Row[Any] | None]:
        return await self._owned_nodes(
            ids, Section.TESTS, RecordStore.TESTING, Store.TESTING, samples_by_ids
        )

    async def _check_in_nodes(self, ids: list[uuid.UUID]) -> list[Row[Any] | None]:
        async with fetching(self.engines, Store.CORE) as core:
            rows = await check_ins_by_ids(core, ids)
        readable = set(await self._allowed(list({r.citizen_id for r in rows}), Section.CHECKINS))
        found = {row.id: row for row in rows if row.citizen_id in readable}
        return [found.get(i) for i in ids]

    async def _consents(self, ids: list[uuid.UUID]) -> list[list[Row[Any]] | ApiError]:
        allowed = await self._allowed(ids, Section.CONSENTS)
        found: dict[uuid.UUID, list[Row[Any]]] = {}
        if allowed:
            async with fetching(self.engines, Store.CORE) as core:
                found = await consents_of(core, allowed)
        return [found[i] if i in found else not_visible() for i in ids]

    async def _access_log_pages(self, keys: list[PageKey]) -> list[list[Row[Any]] | ApiError]:
        readable = set(await self._allowed([k.citizen_id for k in keys], Section.ACCESS_LOG))
        pages: dict[PageKey, list[Row[Any]]] = {}
        async with fetching(self.engines, Store.CORE) as core:
            for key in keys:
                if key.citizen_id in readable:
                    pages[key] = await audit_page(core, key)
        return [pages[k] if k in pages else not_visible() for k in keys]

    async def _link_methods(
        self, keys: list[tuple[RecordStore, uuid.UUID]]
    ) -> list[LinkMethod | None]:
        found: dict[tuple[RecordStore, uuid.UUID], LinkMethod] = {}
        async with fetching(self.engines, Store.CORE) as core:
            for store in {store for store, _ in keys}:
                ids = [record_id for s, record_id in keys if s is store]
                for record_id, method in (await link_methods(core, store, ids)).items():
                    found[(store, record_id)] = method
        return [found.get(key) for key in keys]

    async def _pool_results(self, pool_codes: list[str]) -> list[PoolResult | None]:
        async with fetching(self.engines, Store.TESTING) as testing:
            found = await pool_results(testing, pool_codes)
        return [found.get(code) for code in pool_codes]

    async def _profiles(self, ids: list[uuid.UUID]) -> list[Profile | ApiError | None]:
        allowed = await self._allowed(ids, Section.IDENTITY)
        found: dict[uuid.UUID, Profile] = {}
        if allowed:
            async with fetching(self.engines, Store.CORE) as core:
                found = await profiles(core, allowed)
        return [found.get(i) if i in allowed else not_visible() for i in ids]
