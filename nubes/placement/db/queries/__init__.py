"""Placement's queries, one module per table family; every function takes an explicit session."""
