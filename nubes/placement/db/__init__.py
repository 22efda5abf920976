"""Placement persistence."""
