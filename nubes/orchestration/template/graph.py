"""The dependency graph of a stack's resources: levels of resources that can be created
together, the reverse for delete, and Heat's error for a loop."""

from __future__ import annotations

from nubes.orchestration import exceptions as exc


def levels(requires: dict[str, set[str]]) -> list[list[str]]:
    """Resources by level: each level needs only resources of earlier levels, so a level's
    resources can be created in parallel; names are sorted within a level."""
    remaining = {name: set(deps) for name, deps in requires.items()}
    done: set[str] = set()
    out: list[list[str]] = []
    while remaining:
        ready = sorted(n for n, deps in remaining.items() if deps <= done)
        if not ready:
            raise exc.CircularDependency(find_cycle(remaining))
        out.append(ready)
        done.update(ready)
        for n in ready:
            del remaining[n]
    return out


def delete_levels(requires: dict[str, set[str]]) -> list[list[str]]:
    """The order to delete in: a resource goes before everything it depends on."""
    return list(reversed(levels(requires)))


def find_cycle(requires: dict[str, set[str]]) -> list[str]:
    """One loop among ``requires`` (which must have one), as names ending where it began."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for dep in sorted(requires.get(node, ())):
            if dep not in requires:
                continue
            if state.get(dep) == 1:
                return stack[stack.index(dep):] + [dep]
            if dep not in state:
                found = visit(dep)
                if found:
                    return found
        state[node] = 2
        stack.pop()
        return None

    for node in sorted(requires):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return sorted(requires)
