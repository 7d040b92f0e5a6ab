"""The GraphQL API: Starlette app, schema, per-domain types and resolvers, CLI."""
