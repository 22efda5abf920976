"""Swift's constraints, checked at the proxy before any storage server is asked, with Swift's
sentences; and ``GET /info``, which tells clients what they are."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping

from nubes.object.proxy.errors import SwiftError

MAX_META_NAME_LENGTH = 128
MAX_META_VALUE_LENGTH = 256
MAX_META_COUNT = 90
MAX_META_OVERALL_SIZE = 4096
MAX_HEADER_SIZE = 8192
MAX_OBJECT_NAME_LENGTH = 1024
MAX_CONTAINER_NAME_LENGTH = 256
MAX_ACCOUNT_NAME_LENGTH = 256
RESELLER_PREFIX = "AUTH_"
# static large objects (proxy/slo.py, which imports this module: the figures live here)
SLO_INFO = {"max_manifest_segments": 1000, "max_manifest_size": 8 * 1024 * 1024, "min_segment_size": 1,
            "yield_frequency": 10}
SYMLINK_INFO = {"symloop_max": 2, "static_links": True}


def info(max_file_size: int, listing_limit: int) -> dict:
    """``GET /info``: the cluster's constraints and what the proxy serves (only what works)."""
    return {
        "swift": {
            "version": "nubes",
            "max_file_size": max_file_size,
            "max_meta_name_length": MAX_META_NAME_LENGTH,
            "max_meta_value_length": MAX_META_VALUE_LENGTH,
            "max_meta_count": MAX_META_COUNT,
            "max_meta_overall_size": MAX_META_OVERALL_SIZE,
            "max_header_size": MAX_HEADER_SIZE,
            "max_object_name_length": MAX_OBJECT_NAME_LENGTH,
            "max_container_name_length": MAX_CONTAINER_NAME_LENGTH,
            "max_account_name_length": MAX_ACCOUNT_NAME_LENGTH,
            "container_listing_limit": listing_limit,
            "account_listing_limit": listing_limit,
            "extra_header_count": 0,
            "account_autocreate": True,
            "allow_account_management": False,
            "strict_cors_mode": True,
            "policies": [{"name": "Policy-0", "default": True}],
        },
        "keystoneauth": {"reseller_prefix": RESELLER_PREFIX, "account_acls": True},
        "slo": dict(SLO_INFO),
        "symlink": dict(SYMLINK_INFO),
        "object_versioning": {},
        "bulk_delete": {"max_deletes_per_request": 10000, "max_failed_deletes": 1000},
        "bulk_upload": {"max_containers_per_extraction": 10000, "max_failed_extractions": 1000},
        **middleware_info(),
    }


def middleware_info() -> dict:
    """What the access checks serve (access.py), as Swift's middlewares register themselves."""
    from nubes.object.proxy import tempurl

    return {"tempurl": tempurl.info_section(),
            "formpost": {"allowed_digests": sorted(tempurl.DIGESTS)},
            "container_quotas": {}, "account_quotas": {}, "staticweb": {}}


def check_account(account: str) -> None:
    if len(account.encode()) > MAX_ACCOUNT_NAME_LENGTH:
        raise SwiftError(400, f"Account name length of {len(account.encode())} longer than "
                              f"{MAX_ACCOUNT_NAME_LENGTH}")


def check_container(container: str) -> None:
    size = len(container.encode())
    if size > MAX_CONTAINER_NAME_LENGTH:
        raise SwiftError(400, f"Container name length of {size} longer than "
                              f"{MAX_CONTAINER_NAME_LENGTH}")


def check_object_name(obj: str) -> None:
    size = len(obj.encode())
    if size > MAX_OBJECT_NAME_LENGTH:
        raise SwiftError(400, f"Object name length of {size} longer than {MAX_OBJECT_NAME_LENGTH}")


def check_metadata(headers: Mapping[str, str], kind: str) -> None:
    """The ``X-<kind>-Meta-*`` headers of a request within Swift's limits (each name, each value,
    their count and their total size)."""
    prefix = f"x-{kind}-meta-"
    count = size = 0
    for key, value in headers.items():
        key = key.lower()
        if not key.startswith(prefix):
            continue
        name = key[len(prefix):]
        if not name:
            raise SwiftError(400, "Metadata name cannot be empty")
        count += 1
        size += len(name) + len(value)
        if len(name) > MAX_META_NAME_LENGTH:
            raise SwiftError(400, f"Metadata name too long: {key}")
        if len(value) > MAX_META_VALUE_LENGTH:
            raise SwiftError(400, f"Metadata value longer than {MAX_META_VALUE_LENGTH}: {key}")
        if count > MAX_META_COUNT:
            raise SwiftError(400, f"Too many metadata items; max {MAX_META_COUNT}")
        if size > MAX_META_OVERALL_SIZE:
            raise SwiftError(400, f"Total metadata too large; max {MAX_META_OVERALL_SIZE}")


def check_length(headers: Mapping[str, str], max_file_size: int) -> int | None:
    """The declared Content-Length (None for a chunked body); 411 without either, 413 past the
    largest object."""
    declared = headers.get("content-length")
    chunked = "chunked" in headers.get("transfer-encoding", "").lower()
    if declared is None:
        if not chunked:
            raise SwiftError(411, "Missing Content-Length header.")
        return None
    if not declared.isdigit():
        raise SwiftError(400, "Invalid Content-Length")
    if int(declared) > max_file_size:
        raise SwiftError(413, "Your request is too large.")
    return int(declared)


def delete_at(headers: Mapping[str, str]) -> str | None:
    """``X-Delete-At`` to send on (``X-Delete-After`` turned into it), checked as Swift does."""
    now = time.time()
    after = headers.get("x-delete-after")
    if after is not None:
        if not after.strip().lstrip("-").isdigit():
            raise SwiftError(400, "Non-integer X-Delete-After")
        if int(after) <= 0:
            raise SwiftError(400, "X-Delete-After in past")
        return str(math.ceil(now + int(after)))      # at least the seconds asked for
    at = headers.get("x-delete-at")
    if at is None:
        return None
    if not at.strip().isdigit():
        raise SwiftError(400, "Non-integer X-Delete-At")
    if int(at) <= now:
        raise SwiftError(400, "X-Delete-At in past")
    return str(int(at))


def listing_limit(value: str | None, maximum: int) -> None:
    if value is None:
        return
    if not value.isdigit():
        raise SwiftError(412, "Value of limit must be a positive integer")
    if int(value) > maximum:
        raise SwiftError(412, f"Maximum limit is {maximum}")
