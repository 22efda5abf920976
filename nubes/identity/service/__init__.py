"""Identity's logic, callable without HTTP."""
