"""What a GET /allocation_candidates (or filtered provider list) asks for, parsed but not yet resolved."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass
class RequestGroup:
    suffix: str = ""
    resources: dict[str, int] = field(default_factory=dict)
    required: list[set[str]] = field(default_factory=list)   # AND of OR-sets
    forbidden: set[str] = field(default_factory=set)
    member_of: list[set[str]] = field(default_factory=list)  # AND of OR-sets of aggregate uuids
    forbidden_aggs: set[str] = field(default_factory=set)
    in_tree: str | None = None

    @property
    def use_same_provider(self) -> bool:
        return self.suffix != ""


@dataclass
class CandidateRequest:
    groups: dict[str, RequestGroup]
    limit: int | None = None
    group_policy: str | None = None
    root_required: set[str] = field(default_factory=set)
    root_forbidden: set[str] = field(default_factory=set)
    same_subtrees: list[set[str]] = field(default_factory=list)
    nested_aware: bool = True          # 1.29+: several providers of one tree in one candidate
    randomize: bool = False
