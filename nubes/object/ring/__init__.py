"""Rings: where every account, container and object lives (Swift's consistent-hash rings).

A cluster has three: ``account``, ``container`` and ``object`` (files ``account.builder`` and
``account.ring.gz``, and so on). The operator edits a *builder* (:class:`RingBuilder`, a JSON
file with all its state) and rebalances it into a *ring file*; servers and proxies load the
ring file (:class:`Ring`) and only look things up. ``nubes ring`` is the operator's command."""

from nubes.object.ring.device import Device, RingError
from nubes.object.ring.builder import RingBuilder
from nubes.object.ring.ring import Ring

RING_NAMES = ("account", "container", "object")

__all__ = ["Device", "Ring", "RingBuilder", "RingError", "RING_NAMES"]
