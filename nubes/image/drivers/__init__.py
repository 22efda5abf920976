"""Image stores: where image bytes live (a filesystem directory, or object storage)."""
