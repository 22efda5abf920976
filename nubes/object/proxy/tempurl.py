"""Temporary URLs (Swift's tempurl): a signed, expiring URL that lets anyone without a token GET,
HEAD, PUT, POST or DELETE one object (or, with ``temp_url_prefix``, the objects under a prefix).

The signature is an HMAC (SHA-1, SHA-256 or SHA-512; hex, or ``<digest>:<base64>``, the form
python-swiftclient gives SHA-512) with one of
the account's keys (``X-Account-Meta-Temp-URL-Key``, ``-Key-2``) or the container's
(``X-Container-Meta-Temp-URL-Key``, ``-Key-2``) of::

    [ip=<temp_url_ip_range>\\n]<METHOD>\\n<expires>\\n<path>       (path: /v1/AUTH_p/c/o,
                                                               or prefix:/v1/AUTH_p/c/<prefix>)

``temp_url_expires`` is a Unix time or ISO 8601 (``2030-01-01T00:00:00Z``). A HEAD may use a
URL signed for HEAD, GET, POST or PUT. A GET or HEAD answers with ``Content-Disposition``
(``attachment`` with the object's name or ``filename``; ``inline`` with ``inline``) and
``Expires``. A container's key reaches only its container (an ``X-Copy-From`` too), an account's
the account. Anything wrong (expired, bad signature, another address, no key) is 401 ``Temp URL
invalid``, as Swift's; a write with ``X-Object-Manifest`` or ``X-Symlink-Target`` is 400."""

from __future__ import annotations

import base64
import binascii
import calendar
import hashlib
import hmac
import ipaddress
import time
from typing import Any
from urllib.parse import quote

from nubes.object.proxy import info
from nubes.object.proxy.base import Cluster
from nubes.object.proxy.errors import SwiftError

METHODS = ("GET", "HEAD", "PUT", "POST", "DELETE")
DIGESTS = {"sha1": hashlib.sha1, "sha256": hashlib.sha256, "sha512": hashlib.sha512}
HEX_LENGTHS = {40: "sha1", 64: "sha256", 128: "sha512"}
INCOMING_REMOVE = ("x-timestamp",)
# A write through a TempURL may not point at data the URL gives no access to.
DISALLOWED = ("x-object-manifest", "x-symlink-target")
OUTGOING_REMOVE, OUTGOING_ALLOW = "x-object-meta-", "x-object-meta-public-"
ISO8601 = "%Y-%m-%dT%H:%M:%SZ"
ACCOUNT_KEYS = ("x-account-meta-temp-url-key", "x-account-meta-temp-url-key-2")
CONTAINER_KEYS = ("x-container-meta-temp-url-key", "x-container-meta-temp-url-key-2")


def info_section() -> dict[str, Any]:
    return {"methods": list(METHODS), "incoming_remove_headers": list(INCOMING_REMOVE),
            "incoming_allow_headers": [], "outgoing_remove_headers": [OUTGOING_REMOVE + "*"],
            "outgoing_allow_headers": [OUTGOING_ALLOW + "*"],
            "allowed_digests": sorted(DIGESTS)}


def wanted(req: Any) -> bool:
    return "temp_url_sig" in req.query_params or "temp_url_expires" in req.query_params


def invalid(req: Any) -> SwiftError:
    body = "" if req.method == "HEAD" else "401 Unauthorized: Temp URL invalid\n"
    return SwiftError(401, body)


def parse_expires(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        try:
            return calendar.timegm(time.strptime(value, ISO8601))
        except ValueError:
            return 0


def split_signature(sig: str) -> tuple[str, str]:
    """(digest name, hex signature); ValueError for a form Swift does not read."""
    if ":" in sig:
        name, _, b64 = sig.partition(":")
        if name not in DIGESTS:
            raise ValueError(sig)
        if ("-" in b64 or "_" in b64) and not ("+" in b64 or "/" in b64):
            b64 = b64.replace("-", "+").replace("_", "/")
        try:
            raw = base64.b64decode(b64 + "=" * (-len(b64) % 4), validate=True)
        except (binascii.Error, ValueError):
            raise ValueError(sig) from None
        return name, raw.hex()
    name = HEX_LENGTHS.get(len(sig))
    if name is None:
        raise ValueError(sig)
    return name, sig.lower()


def sign(key: str, digest: str, body: str) -> str:
    return hmac.new(key.encode(), body.encode(), DIGESTS[digest]).hexdigest()


async def scoped_keys(cluster: Cluster, req: Any, account: str, container: str
                      ) -> list[tuple[str, str]]:
    """The account's and the container's TempURL keys (also FormPost's), with their scope."""
    found = [(v, "account") for k, v in (await info.account_info(cluster, req, account)).items()
             if k in ACCOUNT_KEYS and v]
    record = await info.container_info(cluster, req, account, container) or {}
    return found + [(v, "container") for k, v in record.items() if k in CONTAINER_KEYS and v]


async def keys(cluster: Cluster, req: Any, account: str, container: str) -> list[str]:
    return [key for key, _ in await scoped_keys(cluster, req, account, container)]


def _client_in(req: Any, ip_range: str) -> bool:
    try:
        network = ipaddress.ip_network(ip_range, strict=False)
        return req.client is not None and ipaddress.ip_address(req.client.host) in network
    except ValueError:
        return False


async def authorize(cluster: Cluster, req: Any, account: str, container: str | None,
                    obj: str | None) -> str:
    """The scope of the key the URL is signed with ("account" or "container"); else 401."""
    q = req.query_params
    if not container or obj is None or req.method not in METHODS:
        raise invalid(req)
    expires = parse_expires(q.get("temp_url_expires", ""))
    if expires < time.time():
        raise invalid(req)
    try:
        digest, sig = split_signature(q.get("temp_url_sig", ""))
    except ValueError:
        raise invalid(req) from None
    path = f"/v1/{account}/{container}/{obj}"
    prefix = q.get("temp_url_prefix")
    if prefix is not None:
        if not obj.startswith(prefix):
            raise invalid(req)
        path = f"prefix:/v1/{account}/{container}/{prefix}"
    ip_range = q.get("temp_url_ip_range")
    if ip_range is not None and not _client_in(req, ip_range):
        raise invalid(req)
    head = f"ip={ip_range}\n" if ip_range is not None else ""
    methods = ("HEAD", "GET", "POST", "PUT") if req.method == "HEAD" else (req.method,)
    for key, scope in await scoped_keys(cluster, req, account, container):
        for method in methods:
            if hmac.compare_digest(sign(key, digest, f"{head}{method}\n{expires}\n{path}"), sig):
                _check_disallowed(req)
                return scope
    raise invalid(req)


def _check_disallowed(req: Any) -> None:
    if req.method in ("GET", "HEAD"):
        return
    for name in DISALLOWED:
        if name in req.headers:
            raise SwiftError(400, f"The header {name.title()!r} is not allowed in this tempurl")


def outgoing(req: Any, response: Any, obj: str) -> None:
    """Swift's outgoing header rules and the Content-Disposition of a GET."""
    for name in [k for k in response.headers.keys() if k.lower().startswith(OUTGOING_REMOVE)
                 and not k.lower().startswith(OUTGOING_ALLOW)]:
        del response.headers[name]
    if req.method not in ("GET", "HEAD") or not 200 <= response.status_code < 300:
        return
    q = req.query_params
    filename = q.get("filename")
    if "inline" in q:
        value = _disposition("inline", filename) if filename else "inline"
    elif filename:
        value = _disposition("attachment", filename)
    elif "content-disposition" in response.headers:
        value = response.headers["content-disposition"]
    else:
        value = _disposition("attachment", obj.rstrip("/").rsplit("/", 1)[-1])
    response.headers["Content-Disposition"] = value.replace("\n", "%0A")
    try:
        expires = time.gmtime(parse_expires(q.get("temp_url_expires", "")))
    except (OverflowError, OSError, ValueError):     # a year past what the platform keeps
        return
    response.headers["Expires"] = time.strftime("%a, %d %b %Y %H:%M:%S GMT", expires)


def _disposition(kind: str, filename: str) -> str:
    return f"{kind}; filename=\"{quote(filename, safe=' /')}\"; filename*=UTF-8''{quote(filename)}"
