"""A resolver over fixed ids and attributes: what the engine will answer for created
resources, so that the template engine can be tested alone."""

from __future__ import annotations

from typing import Any


class TableResolver:
    def __init__(self, attrs: dict[str, dict[str, Any]] | None = None,
                 zones: list[str] | None = None) -> None:
        self.attrs = attrs or {}
        self.zones = zones or ["nova"]
        self.asked: list[tuple[str, str | None, tuple[Any, ...]]] = []

    def reference(self, resource: str) -> Any:
        return f"{resource}-id"

    def attribute(self, resource: str, name: str | None, path: tuple[Any, ...]) -> Any:
        self.asked.append((resource, name, path))
        values = self.attrs.get(resource, {})
        if name is None:
            return dict(values)
        if name not in values:
            raise KeyError(f"The Referenced Attribute ({resource} {name}) is incorrect.")
        value = values[name]
        for key in path:
            value = value[int(key) if isinstance(value, list) else key]
        return value

    def availability_zones(self) -> list[str]:
        return list(self.zones)
