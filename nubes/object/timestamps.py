"""Swift's timestamps: the version of every object, container and account record.

A timestamp is a time in units of 10 microseconds, written in its *normal* form
``1700000000.12345`` (ten digits, a dot, five decimals: text order is time order), plus an optional
*offset*, a counter that orders several events stamped with the same time (the *internal* form
``1700000000.12345_000000000000000a``, 16 hex digits). Newest wins everywhere on the comparison
of these values, so they are kept as integers, never as floats."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass
from functools import total_ordering

_UNITS = 100000                      # ticks a second: five decimals
_FORM = re.compile(r"^(\d{1,10})(?:\.(\d{1,5})\d*)?(?:_([0-9a-fA-F]{1,16}))?$")


class InvalidTimestamp(ValueError):
    pass


@total_ordering
@dataclass(frozen=True)
class Timestamp:
    ticks: int                       # 10-microsecond units since the epoch
    offset: int = 0

    @classmethod
    def parse(cls, text: str | float | int | Timestamp) -> Timestamp:
        """A timestamp from its normal or internal form (or a float of seconds). Digits past the
        fifth decimal are dropped, as Swift normalizes them away."""
        if isinstance(text, Timestamp):
            return text
        if isinstance(text, (int, float)):
            if text < 0:
                raise InvalidTimestamp(f"negative timestamp {text!r}")
            return cls(round(text * _UNITS))
        match = _FORM.match(text.strip()) if isinstance(text, str) else None
        if not match:
            raise InvalidTimestamp(f"invalid timestamp {text!r}")
        whole, frac, offset = match.groups()
        ticks = int(whole) * _UNITS + int((frac or "").ljust(5, "0"))
        return cls(ticks, int(offset, 16) if offset else 0)

    @classmethod
    def now(cls) -> Timestamp:
        return cls(time.time_ns() // 10_000)

    @property
    def normal(self) -> str:
        return f"{self.ticks // _UNITS:010d}.{self.ticks % _UNITS:05d}"

    @property
    def internal(self) -> str:
        return f"{self.normal}_{self.offset:016x}" if self.offset else self.normal

    @property
    def seconds(self) -> float:
        return self.ticks / _UNITS

    def with_offset(self, offset: int) -> Timestamp:
        return Timestamp(self.ticks, offset)

    def __str__(self) -> str:
        return self.internal

    def __lt__(self, other: Timestamp) -> bool:
        return (self.ticks, self.offset) < (other.ticks, other.offset)


def parse_header(value: str | None) -> Timestamp:
    """An ``X-Timestamp`` header's value; missing or malformed raises InvalidTimestamp."""
    if not value:
        raise InvalidTimestamp("missing X-Timestamp")
    return Timestamp.parse(value)
