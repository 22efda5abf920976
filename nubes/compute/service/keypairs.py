"""Key pairs: import an SSH public key (or an X.509 certificate), or generate an SSH key pair.

The fingerprint is what Nova shows: MD5 of the decoded SSH key as colon-separated hex, or
SHA-1 of the certificate's DER bytes. Generated keys are 2048-bit RSA; the private key is
returned once and never stored.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from sqlalchemy.exc import IntegrityError

from nubes.core.concurrency import run_blocking
from nubes.compute import exceptions as exc
from nubes.compute.db.models import KeyPair
from nubes.compute.db.queries import keypairs as q

SSH_TYPES = ("ssh-rsa", "ssh-dss", "ssh-ed25519", "ecdsa-sha2-nistp256", "ecdsa-sha2-nistp384",
             "ecdsa-sha2-nistp521", "sk-ssh-ed25519@openssh.com", "sk-ecdsa-sha2-nistp256@openssh.com")


def _colons(digest: str) -> str:
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def ssh_fingerprint(public_key: str) -> str:
    parts = public_key.strip().split()
    if len(parts) < 2 or parts[0] not in SSH_TYPES:
        raise exc.InvalidKeypair("failed to generate fingerprint")
    try:
        blob = base64.b64decode(parts[1].encode(), validate=True)
        serialization.load_ssh_public_key(f"{parts[0]} {parts[1]}".encode())
    except (ValueError, TypeError, UnsupportedAlgorithm):      # binascii.Error is a ValueError
        raise exc.InvalidKeypair("failed to generate fingerprint") from None
    return _colons(hashlib.md5(blob, usedforsecurity=False).hexdigest())


def x509_fingerprint(pem: str) -> str:
    try:
        cert = x509.load_pem_x509_certificate(pem.encode())
    except ValueError:
        raise exc.InvalidKeypair("failed to generate X509 fingerprint") from None
    return _colons(hashlib.sha1(cert.public_bytes(serialization.Encoding.DER),
                                usedforsecurity=False).hexdigest())


def _generate() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(serialization.Encoding.OpenSSH,
                                           serialization.PublicFormat.OpenSSH).decode() + " Generated-by-Nova"
    return private, public


NAME_RE = re.compile(r"^[a-zA-Z0-9 _-]+$")
NAME_RE_292 = re.compile(r"^[a-zA-Z0-9 _@.-]+$")


class Keypairs:
    def __init__(self, state: Any) -> None:
        self.state = state

    async def create(self, user_id: str, name: str, key_type: str, public_key: str | None,
                     *, relaxed_names: bool = False, project_id: str | None = None
                     ) -> tuple[KeyPair, str | None]:
        if not (NAME_RE_292 if relaxed_names else NAME_RE).match(name):
            raise exc.InvalidKeypair("Keypair name contains unsafe characters")
        private = None
        if public_key is None:
            if key_type != "ssh":
                raise exc.InvalidKeypair("Only SSH key pairs can be generated")
            private, public_key = await run_blocking(_generate)
        fingerprint = x509_fingerprint(public_key) if key_type == "x509" else ssh_fingerprint(public_key)
        try:
            async with self.state.db.session() as s:
                # The project's limit (or the quota class default without one), counted per user.
                await self.state.quotas.check_key_pairs(s, user_id, project_id)
                if await q.get(s, user_id, name) is not None:
                    raise exc.KeyPairExists(name)
                row = KeyPair(user_id=user_id, name=name, fingerprint=fingerprint, public_key=public_key,
                              type=key_type)
                s.add(row)
        except IntegrityError:
            raise exc.KeyPairExists(name) from None
        return row, private

    async def get(self, user_id: str, name: str) -> KeyPair:
        async with self.state.db.reader() as s:
            row = await q.get(s, user_id, name)
        if row is None:
            raise exc.KeypairNotFound(name, user_id)
        return row

    async def list(self, user_id: str, *, limit: int | None, marker: str | None) -> list[KeyPair]:
        async with self.state.db.reader() as s:
            if marker is not None and await q.get(s, user_id, marker) is None:
                raise exc.BadRequest(f"marker [{marker}] not found")
            return await q.list_for(s, user_id, limit=limit, marker=marker)

    async def delete(self, user_id: str, name: str) -> None:
        async with self.state.db.session() as s:
            row = await q.get(s, user_id, name)
            if row is None:
                raise exc.KeypairNotFound(name, user_id)
            await s.delete(row)
