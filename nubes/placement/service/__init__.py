"""Placement logic, callable without HTTP."""
