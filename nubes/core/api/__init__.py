"""The HTTP layer shared by every service: app factory, routing, request helpers, middleware."""
