"""Token payloads: a compact binary record, encrypted with the Fernet key repository.

The token string is ``MultiFernet.encrypt(pack(payload))`` with the base64
padding (``=``) stripped, as Keystone does; :meth:`TokenFormatter.validate`
puts the padding back before decrypting.

Payload layout, version 1 (big-endian)::

    B  version (1)
    B  methods bitmask: bit i is METHODS[i]; bit 7 means "other method names follow"
    B  scope tag: low 6 bits are SCOPE_*; bit 7 means "an application credential id follows",
       bit 6 "a trust id follows" (an OS-TRUST trust-scoped token)
    Q  expires_at, milliseconds since the Unix epoch (UTC)
    Q  issued_at, milliseconds since the Unix epoch (UTC)
    [B count, then count x (B length, UTF-8 name)]   only with methods bit 7
    id user_id
    id project_id or domain_id                        only for those scopes
    id app_cred_id                                    only with scope tag bit 7
    id trust_id                                       only with scope tag bit 6
    B  number of audit ids (1 or 2), then 16 raw bytes each

An ``id`` is ``0x00`` + 16 bytes for a lower-case 32-hex id (the usual uuid4
hex), or ``0x01`` + length byte + UTF-8 for any other string ("default",
ids from other backends).  A project-scoped password token is 70 payload
bytes, which Fernet turns into a 183-character token.

Validation does not check expiry; callers use :func:`is_expired`.
"""

from __future__ import annotations

import base64
import binascii
import os
import re
import struct
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from cryptography.fernet import InvalidToken

from nubes.identity.service.fernet_keys import KeyRepository

VERSION = 1
# Bit positions are part of the format: append, never reorder.
METHODS = ("password", "token", "application_credential", "totp", "mapped", "oauth1", "external")
_METHOD_BIT = {m: 1 << i for i, m in enumerate(METHODS)}
_METHOD_ORDER = {m: i for i, m in enumerate(METHODS)}
_EXTRA_METHODS = 0x80
# Every combination of known methods, in canonical order, by bitmask.
_MASK_METHODS = tuple(tuple(m for i, m in enumerate(METHODS) if mask & (1 << i))
                      for mask in range(1 << len(METHODS)))
_CANONICAL = frozenset(_MASK_METHODS)

SCOPE_NONE, SCOPE_PROJECT, SCOPE_DOMAIN, SCOPE_SYSTEM = 0, 1, 2, 3
_APP_CRED = 0x80
_TRUST = 0x40
_SCOPE_KIND = 0x3F
SYSTEM_ALL = "all"

_HEAD = struct.Struct(">BBBQQ")
_ID_HEX, _ID_STR = 0, 1
_HEX32 = re.compile(r"[0-9a-f]{32}")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MS = timedelta(milliseconds=1)
_MAX_MS = (1 << 64) - 1
MAX_TOKEN_LENGTH = 1024  # anything longer is not one of ours; refuse before decrypting


class TokenInvalid(Exception):
    """Not a token of ours: garbage, tampered with, or made with a key no longer in the repository."""


# -- time ---------------------------------------------------------------------
def _utc_ms(dt: datetime) -> datetime:
    """``dt`` in UTC with the microseconds cut to milliseconds; naive datetimes are taken as UTC."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    elif dt.tzinfo is not UTC:
        dt = dt.astimezone(UTC)
    us = dt.microsecond
    return dt.replace(microsecond=us - us % 1000) if us % 1000 else dt


def _now() -> datetime:
    return _utc_ms(datetime.now(UTC))


def _to_ms(dt: datetime) -> int:
    ms = (dt - _EPOCH) // _MS  # exact integer arithmetic, no float rounding
    if not 0 <= ms <= _MAX_MS:
        raise ValueError(f"time {dt.isoformat()} cannot be put in a token")
    return ms


def _from_ms(ms: int) -> datetime:
    return _EPOCH + timedelta(milliseconds=ms)


# -- payload ------------------------------------------------------------------
def _canonical_methods(methods: tuple[str, ...] | list[str]) -> tuple[str, ...]:
    if isinstance(methods, str):
        raise ValueError(f"methods must be a sequence of method names, not the string {methods!r}")
    known = sorted({m for m in methods if m in _METHOD_ORDER}, key=_METHOD_ORDER.__getitem__)
    others = [m for m in dict.fromkeys(methods) if m not in _METHOD_ORDER]
    return tuple(known + others)


@dataclass(frozen=True)
class TokenPayload:
    """What a token says.

    Normalised on construction so that ``validate(issue(p)) == p``: methods
    are de-duplicated in METHODS order (other names after them), times are
    UTC with millisecond precision (naive datetimes are taken as UTC).
    At most one of project_id, domain_id and system may be set; system
    scope is ``"all"``.  An application credential token is project-scoped.
    """

    user_id: str
    methods: tuple[str, ...]
    expires_at: datetime
    audit_ids: tuple[str, ...]
    project_id: str | None = None
    domain_id: str | None = None
    system: str | None = None
    app_cred_id: str | None = None
    issued_at: datetime = field(default_factory=_now)
    # A trust-scoped token: user_id is the trustee who authenticated; the trust says the rest.
    trust_id: str | None = None

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        methods = self.methods
        if type(methods) is not tuple or methods not in _CANONICAL:
            methods = _canonical_methods(methods)
            set_(self, "methods", methods)
        if not methods:
            raise ValueError("a token needs at least one authentication method")
        if type(self.audit_ids) is not tuple:
            if isinstance(self.audit_ids, str):
                raise ValueError("audit_ids must be a sequence of audit ids, not a string")
            set_(self, "audit_ids", tuple(self.audit_ids))
        if not 1 <= len(self.audit_ids) <= 2:
            raise ValueError(f"a token carries 1 or 2 audit ids, not {len(self.audit_ids)}")
        set_(self, "expires_at", _utc_ms(self.expires_at))
        set_(self, "issued_at", _utc_ms(self.issued_at))
        scopes = (self.project_id is not None) + (self.domain_id is not None) + (self.system is not None)
        if scopes > 1:
            raise ValueError("a token is scoped to at most one of a project, a domain or the system")
        if self.system is not None and self.system != SYSTEM_ALL:
            raise ValueError(f"system scope must be {SYSTEM_ALL!r}, not {self.system!r}")
        if self.app_cred_id is not None and self.project_id is None:
            raise ValueError("an application credential token must be project-scoped")
        if self.trust_id is not None and (self.app_cred_id is not None or self.domain_id is not None
                                          or self.system is not None):
            raise ValueError("a trust-scoped token is scoped to the trust's project or to nothing else")

    @property
    def scope(self) -> str | None:
        """"project", "domain", "system" or None (unscoped)."""
        if self.project_id is not None:
            return "project"
        if self.domain_id is not None:
            return "domain"
        if self.system is not None:
            return "system"
        return None

    @property
    def audit_chain_id(self) -> str:
        """The audit id of the first token of a rescoping chain."""
        return self.audit_ids[-1]


def new_audit_id() -> str:
    """22 url-safe characters from 16 random bytes (no padding), as Keystone's audit ids."""
    return base64.urlsafe_b64encode(os.urandom(16)).rstrip(b"=").decode()


def chained_audit_ids(parent: TokenPayload) -> tuple[str, str]:
    """Audit ids for a token made from ``parent`` (rescoping): a new one, then the chain's original."""
    return (new_audit_id(), parent.audit_chain_id)


def is_expired(payload: TokenPayload, now: datetime | None = None) -> bool:
    """True once ``now`` (default: the current time) has reached ``payload.expires_at``."""
    return payload.expires_at <= (_utc_ms(now) if now is not None else datetime.now(UTC))


# -- packing ------------------------------------------------------------------
def _pack_str(value: str, what: str) -> bytes:
    if not isinstance(value, str):
        raise ValueError(f"{what} must be a string, not {type(value).__name__}")
    raw = value.encode()
    if not raw or len(raw) > 255:
        raise ValueError(f"{what} must be 1 to 255 bytes long, not {len(raw)}: {value[:40]!r}")
    return bytes((len(raw),)) + raw


def _pack_id(value: str, what: str) -> bytes:
    if type(value) is str and len(value) == 32 and _HEX32.fullmatch(value):
        return b"\x00" + bytes.fromhex(value)
    return b"\x01" + _pack_str(value, what)


def _pack_audit_id(audit_id: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(audit_id + "==")
    except (binascii.Error, ValueError, TypeError):
        raw = b""
    if len(raw) != 16 or len(audit_id) != 22 or base64.urlsafe_b64encode(raw)[:22].decode() != audit_id:
        raise ValueError(f"{audit_id!r} is not an audit id (22 url-safe base64 characters of 16 bytes)")
    return raw


def pack(p: TokenPayload) -> bytes:
    """The binary payload of ``p``; raises ValueError for what cannot be put in a token."""
    mask = 0
    others = []
    for m in p.methods:
        bit = _METHOD_BIT.get(m)
        if bit is None:
            others.append(_pack_str(m, "method name"))
        else:
            mask |= bit
    if others:
        mask |= _EXTRA_METHODS
    if p.project_id is not None:
        tag, scope_id = SCOPE_PROJECT, _pack_id(p.project_id, "project_id")
    elif p.domain_id is not None:
        tag, scope_id = SCOPE_DOMAIN, _pack_id(p.domain_id, "domain_id")
    elif p.system is not None:
        tag, scope_id = SCOPE_SYSTEM, b""
    else:
        tag, scope_id = SCOPE_NONE, b""
    if p.app_cred_id is not None:
        tag |= _APP_CRED
    if p.trust_id is not None:
        tag |= _TRUST
    out = [_HEAD.pack(VERSION, mask, tag, _to_ms(p.expires_at), _to_ms(p.issued_at))]
    if others:
        out.append(bytes((len(others),)))
        out.extend(others)
    out.append(_pack_id(p.user_id, "user_id"))
    out.append(scope_id)
    if p.app_cred_id is not None:
        out.append(_pack_id(p.app_cred_id, "app_cred_id"))
    if p.trust_id is not None:
        out.append(_pack_id(p.trust_id, "trust_id"))
    out.append(bytes((len(p.audit_ids),)))
    out.extend(_pack_audit_id(a) for a in p.audit_ids)
    return b"".join(out)


def _unpack_str(buf: bytes, pos: int) -> tuple[str, int]:
    end = pos + 1 + buf[pos]
    if end > len(buf):
        raise TokenInvalid("truncated token payload")
    return buf[pos + 1:end].decode(), end


def _unpack_id(buf: bytes, pos: int) -> tuple[str, int]:
    kind = buf[pos]
    if kind == _ID_HEX:
        end = pos + 17
        if end > len(buf):
            raise TokenInvalid("truncated token payload")
        return buf[pos + 1:end].hex(), end
    if kind == _ID_STR:
        return _unpack_str(buf, pos + 1)
    raise TokenInvalid("bad id encoding in token payload")


def _audit_str(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw)[:22].decode()


def unpack(buf: bytes) -> TokenPayload:
    """The payload packed in ``buf``; raises TokenInvalid if it is not a well-formed one."""
    try:
        version, mask, tag, exp, iss = _HEAD.unpack_from(buf, 0)
        if version != VERSION:
            raise TokenInvalid(f"unknown token payload version {version}")
        pos = _HEAD.size
        methods = _MASK_METHODS[mask & ~_EXTRA_METHODS]
        if mask & _EXTRA_METHODS:
            count = buf[pos]
            pos += 1
            others = []
            for _ in range(count):
                name, pos = _unpack_str(buf, pos)
                others.append(name)
            methods += tuple(others)
        user_id, pos = _unpack_id(buf, pos)
        kind = tag & _SCOPE_KIND
        project_id = domain_id = system = app_cred_id = trust_id = None
        if kind == SCOPE_PROJECT:
            project_id, pos = _unpack_id(buf, pos)
        elif kind == SCOPE_DOMAIN:
            domain_id, pos = _unpack_id(buf, pos)
        elif kind == SCOPE_SYSTEM:
            system = SYSTEM_ALL
        elif kind != SCOPE_NONE:
            raise TokenInvalid(f"unknown scope kind {kind} in token payload")
        if tag & _APP_CRED:
            app_cred_id, pos = _unpack_id(buf, pos)
        if tag & _TRUST:
            trust_id, pos = _unpack_id(buf, pos)
        count = buf[pos]
        pos += 1
        if pos + 16 * count != len(buf):
            raise TokenInvalid("token payload has the wrong length")
        audit_ids = tuple(_audit_str(buf[i:i + 16]) for i in range(pos, len(buf), 16))
        return TokenPayload(user_id=user_id, methods=methods, expires_at=_from_ms(exp),
                            audit_ids=audit_ids, project_id=project_id, domain_id=domain_id,
                            system=system, app_cred_id=app_cred_id, issued_at=_from_ms(iss),
                            trust_id=trust_id)
    except TokenInvalid:
        raise
    except (struct.error, IndexError, UnicodeDecodeError, ValueError, OverflowError):
        raise TokenInvalid("malformed token payload") from None


# -- tokens -------------------------------------------------------------------
class TokenFormatter:
    """Issues and validates token strings with the keys of a :class:`KeyRepository`."""

    def __init__(self, keys: KeyRepository) -> None:
        self.keys = keys

    def issue(self, payload: TokenPayload) -> str:
        return self.keys.fernet().encrypt(pack(payload)).rstrip(b"=").decode("ascii")

    def validate(self, token: str) -> TokenPayload:
        """The payload of ``token``, or TokenInvalid.  Expiry is not checked (see :func:`is_expired`).

        A repository that cannot be read raises KeyRepositoryError instead:
        that is the server's fault, not the token's.
        """
        if type(token) is not str or not token or len(token) > MAX_TOKEN_LENGTH:
            raise TokenInvalid("not a token")
        if not token.isascii():
            raise TokenInvalid("not a token")
        raw = token.encode("ascii")
        raw += b"=" * (-len(raw) % 4)
        try:
            data = self.keys.fernet().decrypt(raw)
        except InvalidToken:
            raise TokenInvalid("token not decryptable with any active key") from None
        return unpack(data)
