"""Alembic migrations: one history per store, each versioned in its own schema."""
