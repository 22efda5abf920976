"""Identity's tables, queries and migrations."""
