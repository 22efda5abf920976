"""Password hashing (bcrypt, off the event loop) and the security-compliance password rules.

Checking a secret costs one bcrypt verification whether or not there is a hash to check it
against: an unknown user, a user without a password or an unknown application credential is
checked against a dummy hash of the configured cost, so a failure takes the same time whether
or not the user exists (no user enumeration by timing).
"""

from __future__ import annotations

import functools
import re
import secrets

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


@functools.lru_cache(maxsize=4)
def _dummy_hash(rounds: int) -> str:
    """The hash of a random secret nobody knows, at ``rounds`` cost."""
    return _hash(secrets.token_urlsafe(24), rounds)


def _verify_or_spend(password: str, hashed: str | None, rounds: int) -> bool:
    if hashed:
        return _verify(password, hashed)
    _verify(password, _dummy_hash(rounds))
    return False


async def hash_password(password: str, rounds: int) -> str:
    return await run_blocking(_hash, password, rounds)


async def verify_password(password: str, hashed: str | None, *, rounds: int) -> bool:
    """Whether ``password`` matches ``hashed``. Without a hash it is checked against a dummy one
    of ``rounds`` cost (the configured ``password_hash_rounds``) and the answer is False."""
    return await run_blocking(_verify_or_spend, password, hashed, rounds)


async def prepare(rounds: int) -> None:
    """Make the dummy hash now, so that the first failed lookup costs no more than the others."""
    await run_blocking(_dummy_hash, rounds)


def check_password_rules(password: str, regex: str, description: str) -> None:
    if not isinstance(password, str) or not password:
        raise PasswordPolicyViolation("Password must be a non-empty string.")
    if regex and not re.match(regex, password):
        detail = description or f"it must match {regex}"
        raise PasswordPolicyViolation(
            f"The password does not meet the requirements: {detail}.")
