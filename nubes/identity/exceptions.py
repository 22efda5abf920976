"""Identity's domain errors, rendered as Keystone's {"error": {...}} body by api/errors.py."""

from __future__ import annotations

from nubes.core import exceptions as base


class ValidationError(base.BadRequest):
    code = "identity.validation"
    message = "The request you have made is invalid."


class AuthenticationFailed(base.Unauthorized):
    code = "identity.authentication_failed"
    message = "The request you have made requires authentication."


class AccountLocked(base.Unauthorized):
    code = "identity.account_locked"
    message = "The account is locked for user: %s."


class PasswordExpired(base.Unauthorized):
    code = "identity.password_expired"


class TokenNotFound(base.NotFound):
    code = "identity.token_not_found"
    message = "Could not recognize the token."


class NotFound(base.NotFound):
    code = "identity.not_found"

    def __init__(self, kind: str, ident: str) -> None:
        super().__init__(f"Could not find {kind}: {ident}.")
        self.kind = kind


class Conflict(base.Conflict):
    code = "identity.conflict"

    def __init__(self, kind: str, detail: str) -> None:
        super().__init__(f"Conflict occurred attempting to store {kind} - {detail}.")


class Forbidden(base.Forbidden):
    code = "identity.forbidden"


class PasswordPolicyViolation(base.BadRequest):
    code = "identity.password_policy"


class ProtectedResource(base.Forbidden):
    code = "identity.protected"
