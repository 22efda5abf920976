"""What intrinsic functions are evaluated against: a stack's parameter values, files,
mappings, decided conditions, its resources and a ``Resolver`` for what only the engine knows."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

from nubes.orchestration import exceptions as exc
from nubes.orchestration.template.versions import Version

REMOVE = object()  # what a two-argument ``if`` yields when false: the key or item goes away


class Resolver(Protocol):
    """What the engine knows about created resources; the template engine only asks."""

    def reference(self, resource: str) -> Any:
        """The resource's reference id (get_resource, Ref): its physical id, usually."""

    def attribute(self, resource: str, name: str | None, path: tuple[Any, ...]) -> Any:
        """The attribute ``name`` (None: all of them) of the resource, followed down ``path``."""

    def availability_zones(self) -> list[str]:
        """The zones Fn::GetAZs lists."""


@dataclass
class Context:
    version: Version
    params: dict[str, Any] = field(default_factory=dict)     # typed values and pseudo-params
    files: dict[str, str] = field(default_factory=dict)
    mappings: dict[str, Any] = field(default_factory=dict)
    conditions: Mapping[str, bool] = field(default_factory=dict)
    resources: set[str] = field(default_factory=set)          # the enabled resources
    resolver: Resolver | None = None
    facade: dict[str, Any] | None = None                      # the parent resource, if nested


def join(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def fail(name: str, message: str, path: str) -> exc.StackValidationFailed:
    return exc.StackValidationFailed(message, path=join(path, name))


def param(ctx: Context, args: Any, path: str) -> Any:
    if isinstance(args, list):
        if not args:
            raise exc.StackValidationFailed("Function \"get_param\" must have arguments",
                                            path=path)
        name, keys = args[0], args[1:]
    else:
        name, keys = args, []
    if name not in ctx.params:
        raise exc.UserParameterMissing(str(name))
    value = ctx.params[name]
    try:
        for key in keys:
            if isinstance(value, list):
                key = int(key)
            elif not isinstance(value, dict):
                return ""
            value = value[key]
    except (KeyError, IndexError, ValueError, TypeError):
        return ""  # a path that does not lead anywhere gives "", as in Heat
    return value


def need_resolver(ctx: Context, name: str, path: str) -> Resolver:
    if ctx.resolver is None:
        raise exc.StackValidationFailed(f"{name} cannot be resolved before the stack's "
                                        "resources exist", path=path)
    return ctx.resolver


def resource(ctx: Context, name: Any, path: str) -> str:
    if not isinstance(name, str) or name not in ctx.resources:
        raise exc.InvalidTemplateReference(str(name), path)
    return name
