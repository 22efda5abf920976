"""Global test settings."""
