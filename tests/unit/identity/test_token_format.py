"""Token payloads: packing, Fernet encryption, padding, tampering and foreign keys."""

from __future__ import annotations

import base64
import itertools
import os
import random
import uuid
from datetime import UTC, datetime, timedelta, timezone

import pytest

from nubes.identity.service import token_format as tf
from nubes.identity.service.fernet_keys import KeyRepository
from nubes.identity.service.token_format import (
    TokenFormatter,
    TokenInvalid,
    TokenPayload,
    chained_audit_ids,
    is_expired,
    new_audit_id,
)

NOW = datetime(2025, 6, 1, 12, 0, 0, 123000, tzinfo=UTC)


def hexid() -> str:
    return uuid.uuid4().hex


def payload(**kw) -> TokenPayload:
    base = dict(user_id=hexid(), methods=("password",), expires_at=NOW + timedelta(hours=1),
                audit_ids=(new_audit_id(),), issued_at=NOW)
    base.update(kw)
    return TokenPayload(**base)


@pytest.fixture
def keys(tmp_path):
    r = KeyRepository(tmp_path / "keys")
    r.initialize()
    return r


@pytest.fixture
def fmt(keys):
    return TokenFormatter(keys)


# -- roundtrips ---------------------------------------------------------------
METHOD_SETS = [c for n in (1, 2, 3) for c in itertools.combinations(
    ("password", "token", "application_credential"), n)]
SCOPES = {
    "unscoped": {},
    "project": {"project_id": hexid()},
    "domain": {"domain_id": hexid()},
    "default domain": {"domain_id": "default"},
    "system": {"system": "all"},
    "app cred": {"project_id": hexid(), "app_cred_id": hexid()},
    "trust project": {"project_id": hexid(), "trust_id": hexid()},
    "trust unscoped": {"trust_id": "not-hex-trust"},
}


@pytest.mark.parametrize("methods", METHOD_SETS, ids="+".join)
@pytest.mark.parametrize("scope", list(SCOPES))
def test_roundtrip_every_scope_and_method_combination(fmt, scope, methods):
    p = payload(methods=methods, **SCOPES[scope])
    token = fmt.issue(p)
    back = fmt.validate(token)
    assert back == p
    assert set(back.methods) == set(methods)
    expected = {"unscoped": None, "app cred": "project", "trust project": "project",
                "trust unscoped": None}.get(scope, scope.split()[-1])
    assert back.scope == expected
    assert back.trust_id == SCOPES[scope].get("trust_id")


def test_roundtrip_keeps_times_to_the_millisecond(fmt):
    p = payload(expires_at=datetime(2030, 1, 2, 3, 4, 5, 678999, tzinfo=UTC),
                issued_at=datetime(2030, 1, 2, 2, 4, 5, 1999, tzinfo=UTC))
    back = fmt.validate(fmt.issue(p))
    assert back.expires_at == datetime(2030, 1, 2, 3, 4, 5, 678000, tzinfo=UTC)
    assert back.issued_at == datetime(2030, 1, 2, 2, 4, 5, 1000, tzinfo=UTC)
    assert back.expires_at.tzinfo is UTC and back == p


def test_every_millisecond_survives_exactly(fmt):
    # float arithmetic would turn some of these into ms - 1
    rng = random.Random(7)
    for _ in range(2000):
        ms = rng.randrange(0, 4_000_000_000_000)
        dt = tf._from_ms(ms)
        assert tf._to_ms(dt) == ms
        assert tf.unpack(tf.pack(payload(expires_at=dt))).expires_at == dt


def test_times_are_normalised_to_utc(fmt):
    cet = timezone(timedelta(hours=2))
    p = payload(expires_at=datetime(2030, 1, 1, 14, 0, tzinfo=cet), issued_at=datetime(2030, 1, 1, 11, 0))
    assert p.expires_at == datetime(2030, 1, 1, 12, 0, tzinfo=UTC) and p.expires_at.tzinfo is UTC
    assert p.issued_at == datetime(2030, 1, 1, 11, 0, tzinfo=UTC)  # naive is taken as UTC
    assert fmt.validate(fmt.issue(p)) == p


def test_issued_at_defaults_to_now():
    before = datetime.now(UTC) - timedelta(milliseconds=1)
    p = TokenPayload(user_id="u", methods=("password",), expires_at=NOW, audit_ids=(new_audit_id(),))
    assert before <= p.issued_at <= datetime.now(UTC)
    assert p.issued_at.microsecond % 1000 == 0


def test_methods_are_canonical_and_deduplicated(fmt):
    p = payload(methods=["token", "password", "token"])
    assert p.methods == ("password", "token")
    assert fmt.validate(fmt.issue(p)).methods == ("password", "token")


def test_methods_outside_the_bitmask_still_roundtrip(fmt):
    p = payload(methods=("token", "openid", "password", "kerberos"))
    assert p.methods == ("password", "token", "openid", "kerberos")
    assert fmt.validate(fmt.issue(p)) == p
    only = payload(methods=("saml2",))
    assert fmt.validate(fmt.issue(only)) == only


@pytest.mark.parametrize("user_id", [
    "default",
    "a" * 64,
    "65DD3315D76F49ADAED201DC32BC1D2B",  # 32 hex digits, but not lower case: must come back unchanged
    "20e6edad-26ad-4901-894e-af2fdee7ce7c",  # 36 chars with dashes
    "g998bea7693243c88c2641809206ca79",  # 32 chars, not hex
    "0123456789abcdef0123456789abcde",  # 31 hex digits
    "0123456789abcdef 123456789abcdef",  # 32 chars with a space (bytes.fromhex would skip it)
    "ldap-user@example.org",
    "üsér-ïd",
    "x",
])
def test_non_hex_ids_roundtrip(fmt, user_id):
    for p in (payload(user_id=user_id, project_id=user_id),
              payload(user_id=user_id, domain_id=user_id),
              payload(user_id=user_id, project_id=hexid(), app_cred_id=user_id)):
        assert fmt.validate(fmt.issue(p)) == p


def test_hex_ids_are_packed_as_16_bytes():
    hex_p = payload(user_id=hexid(), project_id=hexid())
    str_p = payload(user_id="u" * 32, project_id="p" * 32)
    assert len(tf.pack(str_p)) - len(tf.pack(hex_p)) == 2 * (34 - 17)


@pytest.mark.parametrize("bad", ["", "x" * 256])
def test_ids_that_cannot_be_packed_are_refused_at_issue(fmt, bad):
    with pytest.raises(ValueError):
        fmt.issue(payload(user_id=bad))


@pytest.mark.parametrize("kw, message", [
    ({"project_id": "p", "domain_id": "d"}, "at most one"),
    ({"domain_id": "d", "system": "all"}, "at most one"),
    ({"system": "some"}, "system scope"),
    ({"app_cred_id": "a"}, "project-scoped"),
    ({"app_cred_id": "a", "domain_id": "d"}, "project-scoped"),
    ({"trust_id": "t", "domain_id": "d"}, "trust-scoped"),
    ({"trust_id": "t", "system": "all"}, "trust-scoped"),
    ({"trust_id": "t", "project_id": "p", "app_cred_id": "a"}, "trust-scoped"),
    ({"methods": ()}, "at least one"),
    ({"methods": "password"}, "not the string"),
    ({"audit_ids": ()}, "1 or 2"),
    ({"audit_ids": (new_audit_id(),) * 3}, "1 or 2"),
    ({"audit_ids": new_audit_id()}, "not a string"),
])
def test_impossible_payloads_are_refused(kw, message):
    with pytest.raises(ValueError, match=message):
        payload(**kw)


@pytest.mark.parametrize("audit_id", ["short", "x" * 23, "a" * 21 + "=", "a" * 21 + "B", "+" * 22, "é" * 22])
def test_malformed_audit_ids_are_refused_at_issue(fmt, audit_id):
    with pytest.raises(ValueError, match="not an audit id"):
        fmt.issue(payload(audit_ids=(audit_id,)))


# -- audit ids ----------------------------------------------------------------
def test_new_audit_id_format():
    ids = {new_audit_id() for _ in range(1000)}
    assert len(ids) == 1000
    for a in list(ids)[:50]:
        assert len(a) == 22
        assert "=" not in a
        assert len(base64.urlsafe_b64decode(a + "==")) == 16
        assert set(a) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


def test_audit_ids_chain_through_rescoping(fmt):
    first = payload()
    assert first.audit_chain_id == first.audit_ids[0]
    second = payload(audit_ids=chained_audit_ids(first), project_id=hexid(), methods=("password", "token"))
    assert second.audit_ids[1] == first.audit_ids[0]
    assert second.audit_ids[0] != first.audit_ids[0]
    third = payload(audit_ids=chained_audit_ids(fmt.validate(fmt.issue(second))), domain_id="default")
    back = fmt.validate(fmt.issue(third))
    assert back.audit_ids == third.audit_ids
    assert back.audit_ids[1] == first.audit_ids[0]  # the chain keeps the original token's id
    assert back.audit_chain_id == first.audit_ids[0]
    assert len(set(first.audit_ids + second.audit_ids[:1] + third.audit_ids[:1])) == 3


# -- the token string ---------------------------------------------------------
def test_typical_project_scoped_password_token_length(fmt):
    token = fmt.issue(payload(project_id=hexid()))
    assert len(token) == 183
    rescoped = fmt.issue(payload(project_id=hexid(), methods=("password", "token"),
                                 audit_ids=(new_audit_id(), new_audit_id())))
    assert len(rescoped) == 204
    app_cred = fmt.issue(payload(project_id=hexid(), app_cred_id=hexid(),
                                 methods=("application_credential",)))
    assert len(app_cred) <= 255


def test_token_is_padding_stripped_and_padded_form_also_validates(fmt):
    for _ in range(20):  # payload sizes vary with the ids, and so does the padding
        p = payload(user_id=os.urandom(random.randint(1, 40)).hex(), project_id="default")
        token = fmt.issue(p)
        assert "=" not in token
        assert all(c.isalnum() or c in "-_" for c in token)
        assert fmt.validate(token) == p
        assert fmt.validate(token + "=" * (-len(token) % 4)) == p


def test_padding_is_actually_stripped(fmt):
    lengths = set()
    for n in range(1, 40):
        token = fmt.issue(payload(user_id="u" * n))
        lengths.add(len(token) % 4)
    assert lengths - {0}, "some token lengths needed base64 padding"


def test_tampered_token_is_invalid(fmt):
    token = fmt.issue(payload(project_id=hexid()))
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    for pos in range(len(token)):
        c = alphabet[(alphabet.index(token[pos]) + 1) % 64]
        tampered = token[:pos] + c + token[pos + 1:]
        if pos == len(token) - 1 and base64.urlsafe_b64decode(tampered + "=") == \
                base64.urlsafe_b64decode(token + "="):
            continue  # only the spare low bits of the last character changed: the same bytes
        with pytest.raises(TokenInvalid):
            fmt.validate(tampered)


def test_truncated_or_extended_token_is_invalid(fmt):
    token = fmt.issue(payload())
    for bad in (token[:-1], token[:-4], token[:50], token + "A", token + "AAAA", token[1:]):
        with pytest.raises(TokenInvalid):
            fmt.validate(bad)


@pytest.mark.parametrize("garbage", [
    "", "x", "gAAAAA", "not a token at all", "=" * 8, "ünïcödé", "a" * 2000, "\x00" * 100,
    # Fixed values: parallel workers must collect the same test ids.
    base64.urlsafe_b64encode(random.Random(137).randbytes(137)).decode().rstrip("="),
    "99cd1f95-5942-441a-9a73-a4633de74247", "9ce54dac36504220920b49d59b5b1cef",  # what a UUID-token client sends
])
def test_garbage_is_invalid(fmt, garbage):
    with pytest.raises(TokenInvalid):
        fmt.validate(garbage)


@pytest.mark.parametrize("not_str", [None, b"gAAAAA", 42])
def test_non_strings_are_invalid(fmt, not_str):
    with pytest.raises(TokenInvalid):
        fmt.validate(not_str)


def test_token_from_another_key_repository_is_invalid(tmp_path, fmt):
    other = KeyRepository(tmp_path / "other")
    other.initialize()
    with pytest.raises(TokenInvalid):
        fmt.validate(TokenFormatter(other).issue(payload()))


def test_tokens_survive_rotation_until_their_key_retires(keys, fmt):
    p = payload(project_id=hexid())
    token = fmt.issue(p)
    keys.rotate()
    assert fmt.validate(token) == p
    newer = fmt.issue(p)
    assert newer != token
    keys.rotate()
    with pytest.raises(TokenInvalid):
        fmt.validate(token)
    assert fmt.validate(newer) == p


def test_expiry_is_not_checked_by_validate(fmt):
    p = payload(expires_at=datetime(2001, 1, 1, tzinfo=UTC), issued_at=datetime(2000, 1, 1, tzinfo=UTC))
    assert fmt.validate(fmt.issue(p)) == p


def test_is_expired():
    p = payload(expires_at=NOW)
    assert is_expired(p, NOW)
    assert is_expired(p, NOW + timedelta(milliseconds=1))
    assert not is_expired(p, NOW - timedelta(milliseconds=1))
    assert not is_expired(p, (NOW - timedelta(seconds=1)).replace(tzinfo=None))  # naive: UTC
    assert is_expired(payload(expires_at=datetime.now(UTC) - timedelta(seconds=1)))
    assert not is_expired(payload(expires_at=datetime.now(UTC) + timedelta(minutes=1)))


# -- payloads that decrypt but are not ours -----------------------------------
def test_unknown_payload_version_is_invalid(keys, fmt):
    raw = bytearray(tf.pack(payload()))
    raw[0] = 2
    token = keys.fernet().encrypt(bytes(raw)).decode().rstrip("=")
    with pytest.raises(TokenInvalid, match="version"):
        fmt.validate(token)


def test_malformed_payloads_never_raise_anything_but_token_invalid(keys, fmt):
    rng = random.Random(42)
    good = tf.pack(payload(user_id="default", project_id=hexid(), app_cred_id="ac",
                           methods=("password", "openid"), audit_ids=(new_audit_id(), new_audit_id())))
    candidates = [good[:n] for n in range(len(good))] + [good + b"\x00"]
    for _ in range(300):
        b = bytearray(good)
        for _ in range(rng.randint(1, 4)):
            b[rng.randrange(len(b))] = rng.randrange(256)
        candidates.append(bytes(b))
    candidates += [os.urandom(rng.randint(0, 100)) for _ in range(100)]
    for raw in candidates:
        token = keys.fernet().encrypt(raw).decode().rstrip("=")
        try:
            p = fmt.validate(token)
        except TokenInvalid:
            continue
        assert isinstance(p, TokenPayload)  # a mutation that still makes sense
        assert tf.unpack(tf.pack(p)) == p
