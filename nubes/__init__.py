"""nubes: an OpenStack-compatible cloud in Python."""

__version__ = "0.1.0"
