"""One rebalance's work: pick up the replicas that must or should move, then place each one.

Placement walks the device tree (region → zone → server → device) and at each level takes the
child that (1) still has a device without this partition, (2) is below its weight's share,
(3) holds the fewest of this partition's replicas, (4) is furthest below its share. Counts per
tier are kept up to date as replicas land, so the walk costs a few comparisons per level."""

from __future__ import annotations

import math
from collections import Counter, defaultdict

from nubes.object.ring.ring import _mix

NONE = -1
MAX_PASSES = 3


class Placer:
    def __init__(self, builder, now: int):
        self.b = builder
        self.now = now
        self.devs = builder.devs
        self.live = {d.id for d in builder.live_devices()}
        self.score: dict = defaultdict(float)       # per tier: replicas held minus its share
        self.ndevs: dict = defaultdict(int)
        children = defaultdict(set)
        for dev_id, want in builder.wanted().items():
            tiers = self.devs[dev_id].tiers
            parent = ()
            for tier in tiers:
                self.score[tier] -= want
                self.ndevs[tier] += 1
                children[parent].add(tier)
                parent = tier
        self.children = {k: sorted(v, key=repr) for k, v in children.items()}
        self.dev_wanted = builder.wanted()
        self.touched = bytearray(builder.parts)      # parts one of whose replicas moved this time
        self.blocked = 0      # replicas that should move but wait: their partition moved lately
        self.placed = 0
        self.dispersion_level = 1

    def movable(self, part: int) -> bool:
        last = self.b.last_moved[part]
        return last == 0 or self.now - last >= self.b.min_part_hours

    # -- picking up

    def gather_lost(self) -> list:
        """Replicas with no device, on removed devices (always) or on weight-0 devices (if the
        partition may move)."""
        out, table = [], self.b.table
        removing = self.b.removing
        bad = {d.id for d in self.devs if d is not None and d.id not in self.live}
        for r, row in enumerate(table):
            if NONE not in row and not bad:
                continue
            for part, dev_id in enumerate(row):
                if dev_id == NONE:
                    out.append((part, r, NONE))
                elif dev_id in bad:
                    if dev_id in removing:
                        out.append((part, r, NONE))
                        row[part] = NONE
                        self.touched[part] = 1
                    elif not self.touched[part] and self.movable(part):
                        out.append((part, r, dev_id))
                        row[part] = NONE
                        self.touched[part] = 1
                    else:
                        self.blocked += 1
        return out

    def gather_overweight(self) -> list:
        """From each device above its share (rounded up), enough replicas to bring it down, taken
        in a fixed pseudo-random order of its partitions so that moves spread evenly."""
        table = self.b.table
        counts = Counter()
        for row in table:
            counts.update(row)
        excess = {d: counts[d] - math.ceil(w) for d, w in self.dev_wanted.items()
                  if counts[d] > math.ceil(w)}
        # devices below their share (rounded down) need that many: take the rest from devices
        # holding their share rounded up, the furthest above their exact share first
        short = sum(max(0, math.floor(w) - counts[d]) for d, w in self.dev_wanted.items())
        short -= sum(excess.values())
        at_ceil = sorted((counts[d] - w, d) for d, w in self.dev_wanted.items()
                         if d not in excess and counts[d] > w and counts[d] >= 1)
        while short > 0 and at_ceil:
            excess[at_ceil.pop()[1]] = 1
            short -= 1
        if not excess:
            return []
        candidates = defaultdict(list)
        for r, row in enumerate(table):
            for part, dev_id in enumerate(row):
                if dev_id in excess:
                    candidates[dev_id].append((part, r))
        # the zones that will take these replicas: first pick partitions with none there yet
        zone_of = {d.id: d.tiers[1] for d in self.devs if d is not None}
        short_zones = {zone_of[d] for d, w in self.dev_wanted.items() if counts[d] < math.floor(w)}
        out = []
        for dev_id, extra in excess.items():
            mine = candidates[dev_id]
            step = _coprime_step(len(mine), dev_id)
            for picky in (True, False):
                at = _mix(dev_id, len(mine)) % len(mine)
                for _ in range(len(mine)):
                    if extra <= 0:
                        break
                    part, r = mine[at]
                    at = (at + step) % len(mine)
                    if self.touched[part]:
                        continue
                    if picky and short_zones and any(
                            row[part] != NONE and zone_of[row[part]] in short_zones for row in table):
                        continue
                    if not self.movable(part):
                        continue
                    self.touched[part] = 1
                    table[r][part] = NONE
                    self._count(dev_id, -1)
                    out.append((part, r, dev_id))
                    extra -= 1
            self.blocked += extra
        return out

    def gather_dispersion(self) -> list:
        """Replicas sharing a zone (or server) with another replica of their partition when the
        ring has enough zones (servers) for all replicas: one per partition, taken off the device
        furthest above its share. Placing puts it back when nothing better is free."""
        table, devs, replicas = self.b.table, self.devs, self.b.replicas
        live = [devs[d] for d in self.live]
        levels = [lv for lv in (1, 2) if len({d.tiers[lv] for d in live}) >= replicas]
        if not levels or replicas < 2:
            return []
        level = levels[0]
        tier_of = {d.id: d.tiers[level] for d in devs if d is not None}
        out = []
        for part in range(self.b.parts):
            ids = [row[part] for row in table]
            tiers = [tier_of[i] for i in ids]
            if len(set(tiers)) == replicas or self.touched[part]:
                continue
            if not self.movable(part):
                self.blocked += 1
                continue
            shared = [r for r, t in enumerate(tiers) if tiers.count(t) > 1]
            r = max(shared, key=lambda r: self.score[devs[ids[r]].tiers[3]])
            self.touched[part] = 1
            table[r][part] = NONE
            self._count(ids[r], -1)
            out.append((part, r, ids[r]))
        self.dispersion_level = level
        return out

    # -- placing

    def _count(self, dev_id: int, delta: int) -> None:
        if dev_id in self.live:
            for tier in self.devs[dev_id].tiers:
                self.score[tier] += delta

    def place(self, items, progress=None, only_if_better: bool = False) -> None:
        """Place each (part, replica, previous device). ``only_if_better``: keep the previous
        device unless the new one shares the dispersion level with fewer replicas."""
        table, devs = self.b.table, self.devs
        score, ndevs, children = self.score, self.ndevs, self.children
        last_moved, now = self.b.last_moved, self.now
        total = len(items)
        slack = 1 if only_if_better else 0    # for dispersion, a tier may go one replica per device over
        for n, (part, r, previous) in enumerate(items):
            have: dict = {}
            held = []
            for row in table:
                dev_id = row[part]
                if dev_id != NONE:
                    held.append(dev_id)
                    for tier in devs[dev_id].tiers:
                        have[tier] = have.get(tier, 0) + 1
            node = ()
            for _ in range(4):
                kids = children[node]
                if len(kids) == 1:
                    node = kids[0]
                elif not have:
                    node = min(kids, key=score.__getitem__)
                else:
                    free = [t for t in kids if t not in have]
                    node = min(free, key=score.__getitem__) if free else None
                    if node is None or score[node] >= slack * ndevs[node]:
                        node = min(kids, key=lambda t: (have.get(t, 0) >= ndevs[t],
                                                        score[t] >= slack * ndevs[t],
                                                        have.get(t, 0), score[t]))
            dev_id = node[3]
            if dev_id in held:        # only when devices off the tree skew the counts: any free one
                dev_id = min((d for d in self.live if d not in held), key=lambda d: score[devs[d].tiers[3]])
            if only_if_better and previous != NONE and previous in self.live:
                level = self.dispersion_level
                if have.get(devs[dev_id].tiers[level], 0) >= have.get(devs[previous].tiers[level], 0):
                    dev_id = previous
            table[r][part] = dev_id
            for tier in devs[dev_id].tiers:
                score[tier] += 1
            if dev_id != previous:
                last_moved[part] = now
                self.placed += 1
            if progress is not None and n % 65536 == 65535:
                progress(n + 1, total)

    def run(self, progress=None) -> int:
        for row in self.b.table:
            for dev_id, n in Counter(row).items():
                if dev_id != NONE:
                    self._count(dev_id, n)
        lost = self.gather_lost()
        lost.sort()                         # a partition's replicas together: better dispersion
        self.place(lost, progress)
        for _ in range(MAX_PASSES):
            more = self.gather_overweight()
            if not more:
                break
            self.place(more, progress)
        self.place(self.gather_dispersion(), progress, only_if_better=True)
        return self.placed


def _coprime_step(n: int, salt: int) -> int:
    """A step through range(n) that visits every index once (coprime with n)."""
    if n <= 1:
        return 1
    step = _mix(salt, n) % n or 1
    while math.gcd(step, n) != 1:
        step = step % (n - 1) + 1
    return step
