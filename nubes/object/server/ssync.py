"""The receiving side of the replicator's exchange: which offered object versions a device lacks.

The replicator (``nubes.object.daemons.replicator``) offers, for the suffixes whose hashes differ,
each object's newest ``.data``/``.ts`` timestamp and its ``.meta`` timestamp (``SSYNC
/<device>/<partition>``, a JSON body ``{hash: {"ts": t, "meta": t | null}}``); the answer names
what this device wants, ``{hash: ["data", "meta"]}``: only versions newer than its own, so a newer
copy here is never overwritten. The wanted files then come as ordinary PUT, DELETE and POST
requests marked ``X-Backend-Replication: True`` and carrying their original timestamps (Swift's
ssync: its missing check, then its updates)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nubes.object.server.backend import HTTPError
from nubes.object.server.diskfile import is_object_hash, newest_files
from nubes.object.timestamps import InvalidTimestamp, Timestamp


def _parse(value: Any) -> Timestamp | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise HTTPError(400, f"Invalid timestamp in the offer: {value!r}")
    try:
        return Timestamp.parse(value)
    except InvalidTimestamp as exc:
        raise HTTPError(400, str(exc)) from None


def missing_check(partition_dir: Path, offers: Any) -> dict[str, list[str]]:
    """What of ``offers`` this partition lacks (400 for an offer that is not well formed)."""
    if not isinstance(offers, dict):
        raise HTTPError(400, "The offer must be a JSON object of object hashes")
    wanted: dict[str, list[str]] = {}
    for name, offer in offers.items():
        if not is_object_hash(name) or not isinstance(offer, dict):
            raise HTTPError(400, f"Invalid offer for {name!r}")
        offered, offered_meta = _parse(offer.get("ts")), _parse(offer.get("meta"))
        if offered is None:
            raise HTTPError(400, f"No timestamp offered for {name}")
        main, meta, _ = newest_files(partition_dir / name[-3:] / name)
        have = main[0] if main else None
        want = []
        if have is None or have < offered:
            want.append("data")
        # A POST's metadata applies over the newest version if that is data (as the POST itself
        # would have), never over a tombstone; only an offer with data comes with a .meta.
        on_data = bool(want) or (main is not None and main[1].endswith(".data"))
        newest = offered if want else have
        if offered_meta is not None and on_data and newest is not None and offered_meta > newest \
                and (meta is None or meta[0] < offered_meta):
            want.append("meta")
        if want:
            wanted[name] = want
    return wanted
