"""Identity API v3 (Keystone-compatible)."""
