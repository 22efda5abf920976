"""The image service's tables, queries and migrations."""
