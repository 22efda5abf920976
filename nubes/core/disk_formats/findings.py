"""What a probe found: the format its bytes are, the disk size they describe, and what is unsafe."""

from __future__ import annotations

from dataclasses import dataclass, field

# A virtual size QEMU cannot even represent (it counts bytes in a signed 64-bit integer).
UNREPRESENTABLE_SIZE = 1 << 63


@dataclass
class Finding:
    """One format recognised in the data.

    ``format`` uses Glance's ``disk_format`` names (``qcow2``, ``vmdk``, ``vhd``, ``vhdx``,
    ``vdi``, ``iso``, ``ploop``) plus ``qed``, which no OpenStack service takes. ``unsafe`` lists
    why QEMU must not open the data (a backing file, an external data file, a descriptor naming
    other files, a header that does not hold together); empty means nothing was found wrong.
    """

    format: str
    virtual_size: int | None = None
    unsafe: list[str] = field(default_factory=list)
    subformat: str | None = None      # vmdk createType, vhd disk type, qcow2 version, iso filesystem
    encrypted: bool = False

    def refuse(self, why: str) -> Finding:
        self.unsafe.append(why)
        return self

    def sized(self, size: int | None) -> Finding:
        self.virtual_size = size
        if size is not None and size >= UNREPRESENTABLE_SIZE:
            self.unsafe.append(f"has a virtual size ({size} bytes) QEMU cannot represent")
        return self
