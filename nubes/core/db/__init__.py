"""Database access shared by every service: declarative base, async sessions, Alembic migrations."""
