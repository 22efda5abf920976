"""Port MAC addresses: generated from ``base_mac`` (its non-zero prefix bytes kept, the rest random).

Neutron's rule (``neutron.common.utils.get_random_mac``): the first three bytes of
``base_mac`` are always kept, and a fourth byte is kept too when it is not zero
(``fa:16:3e:4f:00:00`` keeps ``fa:16:3e:4f``); the remaining bytes are random. A MAC is unique
per network (the ``uq_ports_network_mac`` constraint); a generated one that another port of the
network holds is drawn again, a requested one is refused with ``MacAddressInUse``.
"""

from __future__ import annotations

import secrets


def parse_base(base_mac: str) -> list[int]:
    octets = [int(x, 16) for x in base_mac.replace("-", ":").split(":")]
    if len(octets) != 6:
        raise ValueError(f"base_mac {base_mac!r} is not a MAC address")
    return octets


def kept_prefix(base_mac: str) -> list[int]:
    octets = parse_base(base_mac)
    return octets[:4] if octets[3] != 0 else octets[:3]


def random_mac(base_mac: str) -> str:
    prefix = kept_prefix(base_mac)
    rest = list(secrets.token_bytes(6 - len(prefix)))
    return ":".join(f"{b:02x}" for b in prefix + rest)
