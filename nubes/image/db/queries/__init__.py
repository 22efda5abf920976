"""Every SELECT/INSERT/UPDATE of the image service lives in this package."""
