"""The image service's logic, callable without HTTP."""
