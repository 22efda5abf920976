"""The Image API v2 HTTP layer: routes, handlers, views and Glance's error bodies."""
