"""Credentials (/v3/credentials), their EC2 view, and authentication by an EC2 signature.

A credential's blob is stored encrypted with the credential key repository
(a MultiFernet).  An ``ec2`` credential's blob is JSON ``{"access", "secret"}``
and its id is the SHA-256 hex digest of the access key, so a signed request
finds its credential by id.  ``key_hash`` is that digest for EC2 credentials
and the digest of the id otherwise.

``POST /v3/ec2tokens`` checks an AWS signature (version 2 or 4) computed over
the request a client received, with the secret of the access key it names,
and issues a token scoped to the credential's project.  ``POST /v3/s3tokens``
(object storage's S3 API asks it) checks a signature of a string to sign the
caller already built, and answers with the same token body.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import hashlib
import hmac
import json
import secrets
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlsplit

from cryptography.fernet import InvalidToken, MultiFernet
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from nubes.core.exceptions import NotFound as CoreNotFound
from nubes.core.jsondoc import InvalidJSON, parse_json
from nubes.identity.db.models import Credential
from nubes.identity.db.queries import app_creds as app_cred_q
from nubes.identity.db.queries import credentials as credential_q
from nubes.identity.exceptions import AuthenticationFailed, Conflict, NotFound, ValidationError
from nubes.identity.service import domains as rules
from nubes.identity.service.token_format import TokenPayload

EC2 = "ec2"
EC2_METHOD = "ec2credential"
FIELDS = frozenset({"user_id", "project_id", "type", "blob"})
# Blob keys that bind an EC2 credential to a delegation; set by the server, never by the caller.
_BOUND = ("app_cred_id", "trust_id", "access_token_id")
AUTH_TTL = timedelta(minutes=15)  # Keystone's [credential] auth_ttl


def hash_access(access: str) -> str:
    return hashlib.sha256(access.encode()).hexdigest()


def encrypt(fernet: MultiFernet, blob: str) -> str:
    return fernet.encrypt(blob.encode()).decode()


def decrypt(fernet: MultiFernet, token: str) -> str:
    try:
        return fernet.decrypt(token.encode()).decode()
    except InvalidToken:
        # The key that encrypted it was rotated out: the blob cannot be read any more.
        raise ValidationError("The credential blob cannot be decrypted with the current "
                              "credential keys.") from None


def key_hash(credential_id: str, type_: str, blob: dict[str, Any] | None) -> str:
    if type_ == EC2 and blob is not None:
        return hash_access(blob["access"])
    return hashlib.sha256(credential_id.encode()).hexdigest()


def ec2_blob(blob: str) -> dict[str, Any]:
    try:
        data = parse_json(blob)
    except InvalidJSON:
        raise ValidationError("Invalid blob in credential: an ec2 credential's blob is a JSON "
                              "object with access and secret.") from None
    if not isinstance(data, dict) or not data:
        raise rules.invalid("blob", "an ec2 credential's blob is a JSON object with access and secret")
    if not isinstance(data.get("access"), str) or not data["access"]:
        raise ValidationError("Expecting to find access in credential blob.")
    if "secret" in data and not isinstance(data["secret"], str):
        raise rules.invalid("blob", "secret must be a string")
    return data


def _string(value: Any, field: str, *, max_len: int = 64) -> str:
    if not isinstance(value, str) or not value:
        raise rules.invalid(field, "expected a non-empty string")
    if len(value) > max_len:
        raise rules.invalid(field, f"it is longer than {max_len} characters")
    return value


def _bind(data: dict[str, Any], allowed: dict[str, Any]) -> None:
    """Keep the delegation an EC2 blob is bound to (the caller's app credential), never a chosen one."""
    for key in _BOUND:
        want = allowed.get(key)
        if data.get(key) not in (None, want):
            raise ValidationError(f"{key} can not be set or updated for credential")
        if want is None:
            data.pop(key, None)
        else:
            data[key] = want


# -- /v3/credentials ----------------------------------------------------------------------------


def check_create(body: dict[str, Any], app_cred_id: str | None) -> dict[str, Any]:
    for required in ("user_id", "type", "blob"):
        if required not in body:
            raise ValidationError(f"'{required}' is a required property")
    v: dict[str, Any] = {
        "user_id": _string(body["user_id"], "user_id"),
        "type": _string(body["type"], "type", max_len=255),
        "project_id": None if body.get("project_id") is None else _string(body["project_id"], "project_id"),
        "extra": rules.extra(body, FIELDS),
    }
    if not isinstance(body["blob"], str):
        raise rules.invalid("blob", "expected a string (a JSON document for ec2 credentials)")
    blob = body["blob"]
    if v["type"] == EC2:
        if not v["project_id"]:
            raise ValidationError("An ec2 credential needs a project_id: ec2tokens scopes its "
                                  "tokens to that project.")
        data = ec2_blob(blob)
        _bind(data, {"app_cred_id": app_cred_id})
        blob = json.dumps(data)
        v["id"] = hash_access(data["access"])
        v["ec2"] = data
    else:
        v["id"] = uuid.uuid4().hex
        v["ec2"] = None
    v["blob"] = blob
    return v


async def get(s: AsyncSession, credential_id: str) -> Credential:
    cred = await credential_q.get(s, credential_id)
    if cred is None:
        raise NotFound("credential", credential_id)
    return cred


def _duplicate(credential_id: str) -> Conflict:
    return Conflict("credential", f"Duplicate entry found with ID {credential_id}")


async def create(s: AsyncSession, fernet: MultiFernet, v: dict[str, Any]) -> Credential:
    if await credential_q.get(s, v["id"]) is not None:
        raise _duplicate(v["id"])
    cred = Credential(id=v["id"], user_id=v["user_id"], project_id=v["project_id"], type=v["type"],
                      encrypted_blob=encrypt(fernet, v["blob"]),
                      key_hash=key_hash(v["id"], v["type"], v["ec2"]), extra=v["extra"])
    s.add(cred)
    try:
        await s.flush()
    except IntegrityError:
        raise _duplicate(v["id"]) from None
    return cred


def check_update(cred: Credential, fernet: MultiFernet, body: dict[str, Any]) -> dict[str, Any]:
    """The new values of a PATCH; an ec2 credential keeps its id and its delegation bindings."""
    rules.require_some(body, "credential")
    rules.require_same_id(body, cred.id)
    v: dict[str, Any] = {}
    if "user_id" in body:
        v["user_id"] = _string(body["user_id"], "user_id")
    if "project_id" in body:
        v["project_id"] = None if body["project_id"] is None else _string(body["project_id"], "project_id")
    if "type" in body:
        v["type"] = _string(body["type"], "type", max_len=255)
    if "blob" in body and not isinstance(body["blob"], str):
        raise rules.invalid("blob", "expected a string (a JSON document for ec2 credentials)")
    new_type = v.get("type", cred.type)
    old_blob = decrypt(fernet, cred.encrypted_blob)
    blob = body.get("blob", old_blob)
    data = None
    if new_type == EC2:
        if not v.get("project_id", cred.project_id):
            raise ValidationError("An ec2 credential needs a project_id.")
        data = ec2_blob(blob)
        old = ec2_blob(old_blob) if cred.type == EC2 else {}
        # As Keystone: the access key may change (the id, derived from the first one, stays, so
        # the credential is still found by that first key), but not what binds it to a delegation.
        if cred.type != EC2:
            raise ValidationError("A credential cannot become an ec2 credential (an ec2 "
                                  "credential's id derives from its access key): create one.")
        if data.get("access_id") != old.get("access_id"):
            raise ValidationError("access_id can not be updated for credential")
        _bind(data, {k: old.get(k) for k in _BOUND})
        blob = json.dumps(data)
    if "blob" in body or new_type != cred.type:
        v["blob"] = blob
    v["key_hash"] = key_hash(cred.id, new_type, data)
    v["extra"] = rules.extra(body, FIELDS, cred.extra)
    return v


def apply_update(cred: Credential, fernet: MultiFernet, v: dict[str, Any]) -> None:
    for key in ("user_id", "project_id", "type", "key_hash"):
        if key in v:
            setattr(cred, key, v[key])
    if "blob" in v:
        cred.encrypted_blob = encrypt(fernet, v["blob"])
    if v["extra"] != (cred.extra or {}):
        cred.extra = v["extra"]


# -- EC2 per-user API ----------------------------------------------------------------------------


def new_ec2(user_id: str, project_id: str, app_cred_id: str | None) -> dict[str, Any]:
    data: dict[str, Any] = {"access": uuid.uuid4().hex, "secret": uuid.uuid4().hex}
    if app_cred_id:
        data["app_cred_id"] = app_cred_id
    return {"id": hash_access(data["access"]), "user_id": user_id, "project_id": project_id,
            "type": EC2, "blob": json.dumps(data), "ec2": data, "extra": {}}


async def get_ec2(s: AsyncSession, user_id: str, access: str) -> Credential:
    cred = await credential_q.get(s, hash_access(access))
    if cred is None or cred.type != EC2 or cred.user_id != user_id:
        raise NotFound("credential", access)
    return cred


# -- EC2 signatures ----------------------------------------------------------------------------


def _utf8(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return value if isinstance(value, str) else str(value)


def canonical_query(params: dict[str, Any]) -> str:
    """Sorted key=value pairs, percent-encoded as AWS signatures require (RFC 3986 unreserved kept)."""
    return "&".join(f"{quote(_utf8(k), safe='')}={quote(_utf8(params[k]), safe='-_~')}"
                    for k in sorted(params))


def signature_v2(secret: str, params: dict[str, Any], verb: str, host: str, path: str) -> str:
    params = {k: v for k, v in params.items() if k != "Signature"}
    method = params.get("SignatureMethod") or "HmacSHA256"
    if method not in ("HmacSHA256", "HmacSHA1"):
        raise AuthenticationFailed(f"Unsupported EC2 SignatureMethod {method}.")
    params["SignatureMethod"] = method
    digest = hashlib.sha1 if method == "HmacSHA1" else hashlib.sha256
    string_to_sign = f"{verb}\n{host}\n{path}\n{canonical_query(params)}"
    mac = hmac.new(secret.encode(), string_to_sign.encode(), digest).digest()
    return base64.b64encode(mac).decode()


def _v4_auth_params(headers: dict[str, str], params: dict[str, Any]) -> dict[str, str]:
    auth = headers.get("authorization", "")
    if auth.startswith("AWS4-HMAC-SHA256"):
        out = {}
        for part in auth[len("AWS4-HMAC-SHA256"):].split(","):
            key, _, value = part.strip().partition("=")
            out[key] = value
        return out
    return {k: _utf8(params.get(f"X-Amz-{k}", "")) for k in ("Credential", "SignedHeaders")}


def _hmac256(key: bytes, msg: str) -> bytes:
    return hmac.new(key, msg.encode(), hashlib.sha256).digest()


def signature_v4(secret: str, params: dict[str, Any], verb: str, host: str, path: str,
                 headers: dict[str, Any], body_hash: str) -> str:
    hdrs = {_utf8(k).lower().strip(): _utf8(v).strip() for k, v in headers.items()}
    auth = _v4_auth_params(hdrs, params)
    signed = auth.get("SignedHeaders", "")
    scope_parts = auth.get("Credential", "").split("/")
    if len(scope_parts) != 5 or not signed:
        raise AuthenticationFailed("Malformed AWS signature version 4 credential scope.")
    date = hdrs.get("x-amz-date") or _utf8(params.get("X-Amz-Date", ""))
    if not date.startswith(scope_parts[1]):
        raise AuthenticationFailed("Request date mismatch error.")
    canonical_headers = "".join(f"{h}:{hdrs[h]}\n" for h in signed.split(";") if h in hdrs)
    # Query parameters of a POST travel in its body: they are not part of the canonical request.
    query = "" if verb.upper() == "POST" else canonical_query(
        {k: v for k, v in params.items() if k != "X-Amz-Signature"})
    canonical = "\n".join((verb.upper(), path, query, canonical_headers, signed, body_hash))
    scope = "/".join(scope_parts[1:])
    string_to_sign = "\n".join(("AWS4-HMAC-SHA256", date, scope,
                                hashlib.sha256(canonical.encode()).hexdigest()))
    key = ("AWS4" + secret).encode()
    for part in scope_parts[1:5]:
        key = _hmac256(key, part)
    return hmac.new(key, string_to_sign.encode(), hashlib.sha256).hexdigest()


def _is_v4(headers: dict[str, Any], params: dict[str, Any]) -> bool:
    auth = next((_utf8(v) for k, v in headers.items() if _utf8(k).lower() == "authorization"), "")
    return auth.startswith("AWS4-HMAC-SHA256") or params.get("X-Amz-Algorithm") == "AWS4-HMAC-SHA256"


def compute_signature(secret: str, creds: dict[str, Any], host: str) -> str:
    params = creds.get("params") or {}
    headers = creds.get("headers") or {}
    if not isinstance(params, dict) or not isinstance(headers, dict):
        raise AuthenticationFailed("EC2 credentials params and headers must be objects.")
    verb, path = _utf8(creds.get("verb") or ""), _utf8(creds.get("path") or "")
    version = params.get("SignatureVersion")
    if version is not None and _utf8(version) == "2":
        return signature_v2(secret, params, verb, host, path)
    if _is_v4(headers, params):
        return signature_v4(secret, params, verb, host, path, headers,
                            _utf8(creds.get("body_hash") or ""))
    if version is not None:
        raise AuthenticationFailed(f"Unsupported EC2 signature version {version}: "
                                   "this cloud verifies versions 2 and 4.")
    raise AuthenticationFailed("Unexpected EC2 signature format.")


def check_signature(secret: str, creds: dict[str, Any]) -> None:
    given = creds.get("signature")
    if not isinstance(given, str) or not given:
        raise AuthenticationFailed("EC2 signature not supplied.")
    host = _utf8(creds.get("host") or "")
    hosts = [host]
    if ":" in host:  # some clients sign without the port
        bare = urlsplit("//" + host).hostname
        if bare and bare != host:
            hosts.append(bare)
    for h in hosts:
        if hmac.compare_digest(compute_signature(secret, creds, h).encode(), given.encode()):
            return
    raise AuthenticationFailed("Invalid EC2 signature.")


def _parse_timestamp(value: str) -> datetime:
    v = value.strip()
    for fmt in ("%Y%m%dT%H%M%SZ", "%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%dT%H:%M:%S.%fZ"):
        try:
            return datetime.strptime(v, fmt).replace(tzinfo=UTC)
        except ValueError:
            pass
    try:
        dt = datetime.fromisoformat(v.replace("Z", "+00:00"))
    except ValueError:
        raise AuthenticationFailed(f"Credential timestamp is invalid: {value!r}.") from None
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


def check_timestamp(creds: dict[str, Any], now: datetime | None = None) -> None:
    params = creds.get("params") or {}
    headers = {_utf8(k).lower(): v for k, v in (creds.get("headers") or {}).items()}
    stamp = params.get("Timestamp") or headers.get("x-amz-date") or params.get("X-Amz-Date")
    if not stamp:
        return  # the signer chose to leave it out; nothing to check, as in Keystone
    when = _parse_timestamp(_utf8(stamp))
    now = now or datetime.now(UTC)
    if now > when + AUTH_TTL:
        raise AuthenticationFailed("Credential is expired.")
    if when > now + AUTH_TTL:
        raise AuthenticationFailed("Credential timestamp is too far in the future.")


@functools.lru_cache(maxsize=1)
def _dummy_blob(fernet: MultiFernet) -> str:
    return encrypt(fernet, json.dumps({"access": "", "secret": secrets.token_hex(16)}))


def _spend_like_a_check(fernet: MultiFernet, check: Any) -> None:
    """Decrypt a blob and check the signature against a secret nobody has, as for a known key."""
    try:
        secret = _utf8(json.loads(decrypt(fernet, _dummy_blob(fernet))).get("secret") or "")
    except ValidationError:     # the keys rotated since the dummy was made
        _dummy_blob.cache_clear()
        secret = secrets.token_hex(16)
    with contextlib.suppress(AuthenticationFailed):
        check(secret)


async def ec2_authenticate(db: Any, tokens: Any, fernet: MultiFernet, creds: Any) -> TokenPayload:
    """Verify an EC2 signature and build the payload of a token for the credential's project."""
    if not isinstance(creds, dict) or not isinstance(creds.get("access"), str):
        raise AuthenticationFailed("EC2 signature not supplied.")

    def check(secret: str) -> None:
        check_signature(secret, creds)
        check_timestamp(creds)

    return await _authenticate(db, tokens, fernet, creds, check)


# -- S3 signatures (/v3/s3tokens) -------------------------------------------------------------


def s3_signature(secret: str, string_to_sign: bytes) -> str:
    """Keystone's s3tokens rule: a string to sign that starts with ``AWS4`` is signature version
    4 (four lines, the scope ``date/region/s3|iam|sts/aws4_request``); any other, version 2
    (HMAC-SHA1, base64)."""
    if not string_to_sign.startswith(b"AWS4"):
        mac = hmac.new(secret.encode(), string_to_sign, hashlib.sha1).digest()
        return base64.b64encode(mac).decode()
    lines = string_to_sign.split(b"\n")
    if len(lines) != 4 or lines[0] != b"AWS4-HMAC-SHA256":
        raise AuthenticationFailed("Invalid EC2 signature.")
    scope = lines[2].split(b"/")
    if len(scope) != 4 or scope[3] != b"aws4_request" or scope[2] not in (b"s3", b"iam", b"sts"):
        raise AuthenticationFailed("Invalid EC2 signature.")
    key = ("AWS4" + secret).encode()
    for part in scope:
        key = hmac.new(key, part, hashlib.sha256).digest()
    return hmac.new(key, string_to_sign, hashlib.sha256).hexdigest()


def _s3_string_to_sign(creds: dict[str, Any]) -> bytes:
    token = creds.get("token")
    if not isinstance(token, str) or not token:
        raise AuthenticationFailed("S3 string to sign (token) not supplied.")
    try:
        return base64.urlsafe_b64decode(token.replace("+", "-").replace("/", "_").encode())
    except (ValueError, TypeError):
        raise AuthenticationFailed("The S3 token is not base64.") from None


async def s3_authenticate(db: Any, tokens: Any, fernet: MultiFernet, creds: Any) -> TokenPayload:
    """Verify an S3 signature of the string to sign a proxy computed (Keystone's s3tokens): the
    proxy checks the request's time itself, so there is no timestamp here."""
    if not isinstance(creds, dict) or not isinstance(creds.get("access"), str):
        raise AuthenticationFailed("EC2 signature not supplied.")
    string_to_sign = _s3_string_to_sign(creds)
    given = creds.get("signature")
    if not isinstance(given, str) or not given:
        raise AuthenticationFailed("EC2 signature not supplied.")

    def check(secret: str) -> None:
        if not hmac.compare_digest(s3_signature(secret, string_to_sign).encode(),
                                   given.encode("utf-8", "replace")):
            raise AuthenticationFailed("Credential signature mismatch.")

    return await _authenticate(db, tokens, fernet, creds, check)


async def _authenticate(db: Any, tokens: Any, fernet: MultiFernet, creds: dict[str, Any],
                        check: Any) -> TokenPayload:
    """The EC2 credential of ``creds["access"]``, its signature judged by ``check(secret)``, and
    the payload of a token for the credential's project."""
    async with db.reader() as s:
        cred = await credential_q.get(s, hash_access(creds["access"]))
        if cred is None or cred.type != EC2:
            # The work and the answer of a wrong signature: whether an access key exists shows
            # neither in the time taken nor in the message.
            _spend_like_a_check(fernet, check)
            raise AuthenticationFailed("Invalid EC2 signature.")
        try:
            data = json.loads(decrypt(fernet, cred.encrypted_blob))
        except (ValueError, ValidationError):
            raise AuthenticationFailed("EC2 credential is unreadable.") from None
        check(_utf8(data.get("secret") or ""))
        if data.get("trust_id") or data.get("access_token_id"):
            raise AuthenticationFailed("EC2 credentials bound to a trust or an OAuth1 token are "
                                       "not supported by this cloud.")
        app_cred_id = data.get("app_cred_id")
        expires_at = None
        if app_cred_id:
            app_cred = await app_cred_q.get(s, app_cred_id)
            if app_cred is None:
                raise AuthenticationFailed("The application credential of this EC2 credential is gone.")
            if app_cred.project_id != cred.project_id:
                raise AuthenticationFailed("EC2 credential project does not match the application "
                                           "credential project.")
            if app_cred.expires_at and app_cred.expires_at <= datetime.now(UTC):
                raise AuthenticationFailed(f"The application credential {app_cred.id} has expired.")
            expires_at = app_cred.expires_at
        if not cred.project_id:
            raise AuthenticationFailed("User not valid for project.")
        payload = tokens.new_payload(cred.user_id, [EC2_METHOD], project_id=cred.project_id,
                                     app_cred_id=app_cred_id, expires_at=expires_at)
        try:  # user and project enabled, and the user still has a role there
            await tokens.render(s, payload, include_catalog=False)
        except CoreNotFound:
            raise AuthenticationFailed("User not valid for project.") from None
    return payload


def is_ec2_derived(tokens: Any, auth_token: str | None) -> bool:
    if not auth_token:
        return False
    try:
        return EC2_METHOD in tokens.decode(auth_token).methods
    except CoreNotFound:
        return False
