"""How the network's metadata proxy vouches for an instance to compute's metadata API: the
instance id signed with a shared secret (HMAC-SHA256, as Neutron and Nova do). Both sides read
the secret the same way: the configured one, else the state directory's generated
``metadata_secret`` (what the all-in-one and nodes sharing its secrets.json use)."""

from __future__ import annotations

import hashlib
import hmac
import json
from pathlib import Path


def sign(secret: str, instance_id: str) -> str:
    return hmac.new(secret.encode(), instance_id.encode(), hashlib.sha256).hexdigest()


def signed_by(secret: str, instance_id: str, signature: str) -> bool:
    return bool(secret) and hmac.compare_digest(sign(secret, instance_id), signature)


def shared_secret(configured: str, state_dir: Path) -> str:
    if configured:
        return str(configured)
    try:
        return str(json.loads((Path(state_dir) / "secrets.json").read_text()).get("metadata_secret") or "")
    except (OSError, ValueError):
        return ""
