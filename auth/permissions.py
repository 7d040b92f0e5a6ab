"""Permission classes declared on schema fields.

They decide from the principal alone (its kind and its scopes); whether a
partner may see one particular citizen is decided where that citizen's rows
are loaded (api/loaders.py `Access`), against the citizen's live consents.
"""

from typing import Any

from graphql import GraphQLError
from strawberry.permission import BasePermission
from strawberry.types import Info

from auth.principal import Anonymous, CitizenPrincipal, PartnerPrincipal, Principal
from auth.scopes import Scope

# The one FORBIDDEN message, whichever check refused: sibling fields read the same.
NOT_ALLOWED = "not allowed to see or do this"


def _refusal(principal: Principal, wanted: str) -> GraphQLError:
    if isinstance(principal, Anonymous):
        if principal.unavailable:
            return GraphQLError(
                "the core store is unavailable",
                extensions={"code": "STORE_UNAVAILABLE", "store": "core"},
            )
        if principal.refusal:
            return GraphQLError(
                f"credentials refused: {principal.refusal}", extensions={"code": "UNAUTHENTICATED"}
            )
        return GraphQLError(f"sign in {wanted}", extensions={"code": "UNAUTHENTICATED"})
    return GraphQLError(NOT_ALLOWED, extensions={"code": "FORBIDDEN"})


class _PrincipalPermission(BasePermission):
    wanted = "to see this"

    def allows(self, principal: Principal) -> bool:
        raise NotImplementedError

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        principal = info.context.principal
        if not self.allows(principal):
            raise _refusal(principal, self.wanted)
        return True


class IsCitizen(_PrincipalPermission):
    """The signed-in citizen, acting on their own data."""

    wanted = "as a citizen to see this"

    def allows(self, principal: Principal) -> bool:
        return isinstance(principal, CitizenPrincipal)


class IsAuthenticated(_PrincipalPermission):
    def allows(self, principal: Principal) -> bool:
        return not isinstance(principal, Anonymous)


class IsPartner(_PrincipalPermission):
    wanted = "with a partner token to do this"

    def allows(self, principal: Principal) -> bool:
        return isinstance(principal, PartnerPrincipal)


class _CitizenOrScope(_PrincipalPermission):
    """The citizen themselves, or a partner token holding the scope (and, per citizen,
    their consent: checked where the rows are loaded)."""

    scope: Scope

    def allows(self, principal: Principal) -> bool:
        if isinstance(principal, CitizenPrincipal):
            return True
        return isinstance(principal, PartnerPrincipal) and principal.holds(self.scope)


class ReadsVaccinations(_CitizenOrScope):
    scope = Scope.CITIZEN_READ_VACCINATIONS


class ReadsTests(_CitizenOrScope):
    scope = Scope.CITIZEN_READ_TESTS


class ReadsCheckIns(_CitizenOrScope):
    scope = Scope.CITIZEN_READ_CHECKINS


class VerifiesIdentity(_PrincipalPermission):
    """An identity partner (e.g. the national e-ID system) or a province operator."""

    wanted = "with a partner token to do this"

    def allows(self, principal: Principal) -> bool:
        return isinstance(principal, PartnerPrincipal) and (
            principal.holds(Scope.IDENTITY_VERIFY) or principal.holds(Scope.RECONCILE)
        )


class _HoldsScope(_PrincipalPermission):
    """A partner token holding the scope (its province is checked against the citizen's
    where the citizen is loaded)."""

    wanted = "with a partner token to do this"
    scope: Scope

    def allows(self, principal: Principal) -> bool:
        return isinstance(principal, PartnerPrincipal) and principal.holds(self.scope)


class TracesExposures(_HoldsScope):
    scope = Scope.EXPOSURES_READ


class MarksCases(_HoldsScope):
    scope = Scope.EXPOSURES_AUTHORITY


class OperatesVenues(_HoldsScope):
    """A venue operator (its own venues are checked where they are loaded)."""

    scope = Scope.CHECKINS_STAFF


class Reconciles(_PrincipalPermission):
    """A province operator: the `reconcile` scope, for one province."""

    wanted = "with a province operator's partner token to do this"

    def allows(self, principal: Principal) -> bool:
        return (
            isinstance(principal, PartnerPrincipal)
            and principal.holds(Scope.RECONCILE)
            and principal.province_code is not None
        )


class WritesRecords(_PrincipalPermission):
    """A vaccination site or a lab: a partner token that may write records of some kind
    (which kind, the mutation checks against its own scope)."""

    wanted = "with a partner token to do this"

    def allows(self, principal: Principal) -> bool:
        return isinstance(principal, PartnerPrincipal) and (
            principal.holds(Scope.IMMUNIZATION_WRITE) or principal.holds(Scope.TESTING_WRITE)
        )


class VerifiesPasses(_PrincipalPermission):
    """A scanner partner at a checkpoint."""

    wanted = "with a partner token to do this"

    def allows(self, principal: Principal) -> bool:
        return isinstance(principal, PartnerPrincipal) and principal.holds(Scope.PASS_VERIFY)


class RevokesPasses(_PrincipalPermission):
    """The citizen (their own pass), or an operator partner holding `pass:revoke`."""

    wanted = "to revoke a pass"

    def allows(self, principal: Principal) -> bool:
        if isinstance(principal, CitizenPrincipal):
            return True
        return isinstance(principal, PartnerPrincipal) and principal.holds(Scope.PASS_REVOKE)
