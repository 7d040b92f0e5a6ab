"""Who may read which part of whose data, decided per request where the rows are loaded.

A citizen reads only their own data. A partner reads a section of a citizen's
data only while that citizen's consent for it is live and its token holds the
matching scope; each such read is written to the audit log, in the same
request, before any row is released.
"""

import asyncio
import uuid
from collections.abc import Sequence
from functools import cached_property

from strawberry.dataloader import DataLoader

from auth.principal import CitizenPrincipal, PartnerPrincipal, Principal
from auth.scopes import Section, sections_opened_by
from models.audit import Actor, AuditAction, record
from models.consent import consented_scopes
from models.stores import Engines, Store, fetching, reading


class Access:
    def __init__(
        self, principal: Principal, engines: Engines | None = None, request_id: str = ""
    ) -> None:
        self.principal = principal
        self._engines = engines
        self._request_id = request_id
        self._audit_writes: dict[tuple[uuid.UUID, Section], asyncio.Future[None]] = {}

    @cached_property
    def _consents(self) -> DataLoader[uuid.UUID, frozenset[str]]:
        return DataLoader(self._load_consents)

    async def may_read(self, citizen_id: uuid.UUID, section: Section) -> bool:
        return bool(await self.readable([citizen_id], section))

    async def readable(self, ids: Sequence[uuid.UUID], section: Section) -> list[uuid.UUID]:
        """The citizens among ids whose section the caller may read."""
        principal = self.principal
        if isinstance(principal, CitizenPrincipal):
            return [i for i in ids if i == principal.citizen_id]
        if not isinstance(principal, PartnerPrincipal) or self._engines is None or not ids:
            return []
        granted = await self._consents.load_many(list(ids))
        allowed = [
            citizen_id
            for citizen_id, scopes in zip(ids, granted, strict=True)
            if section in sections_opened_by(scopes & principal.scopes)
        ]
        await self._audit(principal, allowed, section)
        return allowed

    async def _load_consents(self, ids: list[uuid.UUID]) -> list[frozenset[str]]:
        assert isinstance(self.principal, PartnerPrincipal) and self._engines is not None
        async with fetching(self._engines, Store.CORE) as core:
            found = await consented_scopes(core, self.principal.partner_id, ids)
        return [found[i] for i in ids]

    async def _audit(
        self, principal: PartnerPrincipal, ids: Sequence[uuid.UUID], section: Section
    ) -> None:
        """Write (once per request) an audit row for each citizen read; a failed write
        fails the read."""
        keys = [(citizen_id, section) for citizen_id in dict.fromkeys(ids)]
        new = [key for key in keys if key not in self._audit_writes]
        if new:
            write = asyncio.ensure_future(self._write(principal, new))
            for key in new:
                self._audit_writes[key] = write
        await asyncio.gather(*{self._audit_writes[key] for key in keys})

    async def _write(
        self, principal: PartnerPrincipal, keys: list[tuple[uuid.UUID, Section]]
    ) -> None:
        assert self._engines is not None
        actor = Actor("PARTNER", str(principal.partner_id), principal.name)
        entries = [(citizen_id, [section.value]) for citizen_id, section in keys]
        async with reading(self._engines, Store.CORE) as core:
            await record(core, actor, AuditAction.READ, entries, self._request_id)
            await core.commit()
