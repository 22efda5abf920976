"""Authentication and authorization shared by every service: token validation and the policy engine."""
