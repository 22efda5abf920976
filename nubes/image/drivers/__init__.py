"""Image stores: where image bytes live (filesystem today; object storage once that service exists)."""
