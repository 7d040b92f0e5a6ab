"""The schema as SDL, as kept in schema.graphql at the repository root."""

from strawberry.printer import print_schema


def schema_text() -> str:
    from api.schema import schema

    return print_schema(schema) + "\n"
