"""Permission classes declared on schema fields."""

from typing import Any

from graphql import GraphQLError
from strawberry.permission import BasePermission
from strawberry.types import Info

from auth.principal import Anonymous, CitizenPrincipal


class IsCitizen(BasePermission):
    message = "sign in as a citizen to see this"
    error_extensions = {"code": "UNAUTHENTICATED"}

    def has_permission(self, source: Any, info: Info, **kwargs: Any) -> bool:
        principal = info.context.principal
        if isinstance(principal, CitizenPrincipal):
            return True
        if isinstance(principal, Anonymous) and principal.refusal:
            raise GraphQLError(
                f"credentials refused: {principal.refusal}", extensions=self.error_extensions
            )
        return False
