"""Password hashing (bcrypt, off the event loop) and the security-compliance password rules."""

from __future__ import annotations

import re

import bcrypt

from nubes.core.concurrency import run_blocking
from nubes.identity.exceptions import PasswordPolicyViolation

# bcrypt looks at 72 bytes at most; Keystone truncates the same way.
_MAX = 72


def _hash(password: str, rounds: int) -> str:
    return bcrypt.hashpw(password.encode()[:_MAX], bcrypt.gensalt(rounds)).decode()


def _verify(password: str, hashed: str) -> bool:
    try:
        return bcrypt.checkpw(password.encode()[:_MAX], hashed.encode())
    except ValueError:
        return False


async def hash_password(password: str, rounds: int) -> str:
    return await run_blocking(_hash, password, rounds)


async def verify_password(password: str, hashed: str | None) -> bool:
    if not hashed:
        return False
    return await run_blocking(_verify, password, hashed)


def check_password_rules(password: str, regex: str, description: str) -> None:
    if not isinstance(password, str) or not password:
        raise PasswordPolicyViolation("Password must be a non-empty string.")
    if regex and not re.match(regex, password):
        detail = description or f"it must match {regex}"
        raise PasswordPolicyViolation(
            f"The password does not meet the requirements: {detail}.")
