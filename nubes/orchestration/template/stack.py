"""``Template`` (a loaded HOT or CFN template) and ``StackDefinition`` (a template with its
parameter values: conditions decided, resources defined, their dependency graph, outputs)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from nubes.orchestration import exceptions as exc
from nubes.orchestration.template import functions as fn
from nubes.orchestration.template import graph, loader
from nubes.orchestration.template import parameters as params_mod
from nubes.orchestration.template.versions import Version

_DELETION_POLICIES = {"delete": "Delete", "retain": "Retain", "snapshot": "Snapshot"}


@dataclass(frozen=True)
class _Keys:
    """The spelling of each section and key in one format."""
    parameters: str
    resources: str
    outputs: str
    conditions: str
    mappings: str | None
    type: str
    properties: str
    metadata: str
    depends_on: str
    deletion_policy: str
    update_policy: str
    description: str
    condition: str
    value: str


HOT = _Keys("parameters", "resources", "outputs", "conditions", None, "type", "properties",
            "metadata", "depends_on", "deletion_policy", "update_policy", "description",
            "condition", "value")
CFN = _Keys("Parameters", "Resources", "Outputs", "Conditions", "Mappings", "Type", "Properties",
            "Metadata", "DependsOn", "DeletionPolicy", "UpdatePolicy", "Description", "Condition",
            "Value")


@dataclass
class ResourceDefinition:
    name: str
    type: str
    properties: dict[str, Any] = field(default_factory=dict)   # unresolved snippets
    metadata: dict[str, Any] = field(default_factory=dict)
    depends_on: list[str] = field(default_factory=list)        # the explicit ones
    deletion_policy: str = "Delete"
    update_policy: dict[str, Any] = field(default_factory=dict)
    description: str = ""
    condition: str | bool | None = None      # a condition's name, or an inline true/false
    external_id: str | None = None
    requires: set[str] = field(default_factory=set)            # explicit and implicit


class Template:
    def __init__(self, tpl: dict[str, Any], files: dict[str, str] | None = None) -> None:
        self.t = tpl
        self.version: Version = loader.detect_version(tpl)
        self.keys = HOT if self.version.is_hot else CFN
        self.files = dict(files or {})

    @classmethod
    def load(cls, text: str | bytes, files: dict[str, str] | None = None,
             url: str | None = None) -> Template:
        return cls(loader.parse(text, url), files)

    @property
    def description(self) -> str:
        return str(self.t.get("description" if self.version.is_hot else "Description", ""))

    def section(self, key: str | None) -> dict[str, Any]:
        value = self.t.get(key) if key else None
        if value is None:
            return {}
        if not isinstance(value, dict):
            raise exc.StackValidationFailed(f'The "{key}" section must be a map')
        return value

    def parameter_schemas(self) -> dict[str, params_mod.Parameter]:
        raw = self.section(self.keys.parameters)
        if self.version.is_hot:
            return {n: params_mod.hot_parameter(n, s, self.version) for n, s in raw.items()}
        return {n: params_mod.cfn_parameter(n, s) for n, s in raw.items()}

    def validate(self, params: Mapping[str, Any] | None = None,
                 env: Mapping[str, Any] | None = None, *, stack_name: str = "stack",
                 stack_id: str = "None", project_id: str = "", region: str = "RegionOne",
                 facade: dict[str, Any] | None = None) -> StackDefinition:
        """Check the template against the given parameters (and an environment's
        ``parameters`` and ``parameter_defaults``) and define the stack."""
        env = env or {}
        schemas = self.parameter_schemas()
        if self.version.is_hot:
            params_mod.validate_groups(self.t.get("parameter_groups"), schemas)
        given = {**(env.get("parameters") or {}), **(params or {})}
        values = params_mod.resolve_values(schemas, given, env.get("parameter_defaults") or {})
        pseudo = params_mod.pseudo_parameters(self.version, stack_name, stack_id, project_id,
                                              region)
        ctx = fn.Context(self.version, {**values, **pseudo}, self.files,
                         self.section(self.keys.mappings), facade=facade)
        ctx.conditions = _Conditions(ctx, self.section(self.keys.conditions))
        for name in ctx.conditions:
            ctx.conditions[name]  # decide every condition now, errors included
        return StackDefinition(self, schemas, values, ctx)


class _Conditions(Mapping[str, bool]):
    """The conditions section, each decided once when first asked; a loop is an error."""

    def __init__(self, ctx: fn.Context, defs: dict[str, Any]) -> None:
        self.ctx, self.defs = ctx, defs
        self.done: dict[str, bool] = {}
        self.busy: set[str] = set()

    def __getitem__(self, name: str) -> bool:
        if name in self.done:
            return self.done[name]
        if name not in self.defs:
            raise KeyError(name)
        if name in self.busy:
            raise exc.StackValidationFailed(f'Circular definition for condition "{name}"',
                                            path=f"conditions.{name}")
        self.busy.add(name)
        try:
            self.done[name] = fn.condition(self.ctx, self.defs[name], f"conditions.{name}")
        finally:
            self.busy.discard(name)
        return self.done[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self.defs)

    def __len__(self) -> int:
        return len(self.defs)


class StackDefinition:
    def __init__(self, template: Template, schemas: dict[str, params_mod.Parameter],
                 values: dict[str, Any], ctx: fn.Context) -> None:
        self.template, self.schemas, self.parameters, self.ctx = template, schemas, values, ctx
        self.keys = template.keys
        raw = template.section(self.keys.resources)
        defined = {n: self._definition(n, r) for n, r in raw.items()}
        self.resources = {n: d for n, d in defined.items() if self._enabled(d.condition)}
        ctx.resources = set(self.resources)
        for d in self.resources.values():
            d.requires = self._requires(d)
        self.levels = graph.levels({n: d.requires for n, d in self.resources.items()})
        self._check_outputs()

    def _enabled(self, cond: str | bool | None) -> bool:
        if isinstance(cond, str):
            return self.ctx.conditions[cond]
        return cond is None or cond

    @property
    def conditions(self) -> dict[str, bool]:
        return dict(self.ctx.conditions)

    def delete_levels(self) -> list[list[str]]:
        return graph.delete_levels({n: d.requires for n, d in self.resources.items()})

    def shown_parameters(self) -> dict[str, Any]:
        """Parameter values as a stack shows them: hidden ones masked, as Heat does."""
        return {n: "******" if self.schemas[n].hidden else v for n, v in self.parameters.items()}

    def _definition(self, name: str, raw: Any) -> ResourceDefinition:
        k, hot = self.keys, self.template.version.is_hot
        if not isinstance(raw, dict):
            raise exc.StackValidationFailed(f'"{name}" is not a valid resource definition',
                                            path=f"{k.resources}.{name}")
        allowed = {k.type, k.properties, k.metadata, k.depends_on, k.deletion_policy,
                   k.update_policy, k.description}
        if not hot or self.template.version.at_least("2016-10-14"):
            allowed.add(k.condition)
        if hot and self.template.version.at_least("2016-10-14"):
            allowed.add("external_id")
        for key in raw:
            if key not in allowed:
                raise exc.StackValidationFailed(
                    f'"{key}" is not a valid keyword inside a resource definition',
                    path=f"{k.resources}.{name}")

        def typed(key: str, types: type | tuple[type, ...], typename: str, default: Any) -> Any:
            value = raw.get(key, default)
            if value is None:
                return default
            if not isinstance(value, types):
                raise exc.StackValidationFailed(f"Resource {name} {key} type must be {typename}")
            return value

        rtype = typed(k.type, str, "string", None)
        if rtype is None:
            raise exc.StackValidationFailed(f'Resource {name} is missing "{k.type}"')
        depends = typed(k.depends_on, (str, list), "string or list", [])
        depends = [depends] if isinstance(depends, str) else depends
        policy = typed(k.deletion_policy, str, "string", "Delete")
        if policy.lower() not in _DELETION_POLICIES:
            raise exc.StackValidationFailed(f'Invalid deletion policy "{policy}"',
                                            path=f"{k.resources}.{name}.{k.deletion_policy}")
        cond = typed(k.condition, (str, bool), "string or boolean", None)
        if isinstance(cond, str) and cond not in self.ctx.conditions:
            raise exc.StackValidationFailed(f'Invalid condition "{cond}"',
                                            path=f"{k.resources}.{name}.{k.condition}")
        return ResourceDefinition(
            name, rtype, typed(k.properties, dict, "object", {}),
            typed(k.metadata, dict, "object", {}), [str(d) for d in depends],
            _DELETION_POLICIES[policy.lower()], typed(k.update_policy, dict, "object", {}),
            str(raw.get(k.description, "")), cond, raw.get("external_id"))

    def _requires(self, d: ResourceDefinition) -> set[str]:
        deps: set[str] = set()
        for section, snippet in (("Properties", d.properties), ("Metadata", d.metadata)):
            for target, path in fn.references(self.ctx, snippet, f"{d.name}.{section}"):
                if target not in self.resources:
                    raise exc.InvalidTemplateReference(target, path)
                deps.add(target)
        for target in d.depends_on:
            if target not in self.resources:
                raise exc.InvalidTemplateReference(target, d.name)
            deps.add(target)
        return deps

    def _outputs(self) -> Iterator[tuple[str, dict[str, Any], bool]]:
        k = self.keys
        for name, out in self.template.section(k.outputs).items():
            if not isinstance(out, dict):
                raise exc.StackValidationFailed(f'"{name}" is not a valid output definition',
                                                path=f"{k.outputs}.{name}")
            allowed = {k.description, k.value}
            if not self.template.version.is_hot or self.template.version.at_least("2016-10-14"):
                allowed.add(k.condition)
            for key in out:
                if key not in allowed:
                    raise exc.StackValidationFailed(
                        f'"{key}" is not a valid keyword inside an output definition',
                        path=f"{k.outputs}.{name}")
            cond = out.get(k.condition)
            if isinstance(cond, str) and cond not in self.ctx.conditions:
                raise exc.StackValidationFailed(f'Invalid condition "{cond}"',
                                                path=f"{k.outputs}.{name}.{k.condition}")
            yield name, out, self._enabled(cond)

    def _check_outputs(self) -> None:
        k = self.keys
        for name, out, enabled in self._outputs():
            if not enabled:
                continue
            path = f"{k.outputs}.{name}.{k.value}"
            for target, where in fn.references(self.ctx, out.get(k.value), path):
                if target not in self.resources:
                    raise exc.InvalidTemplateReference(target, where)

    def outputs(self, resolver: fn.Resolver) -> list[dict[str, Any]]:
        """Every output resolved through ``resolver``; an output that cannot be resolved
        carries ``output_error`` and a None value, as Heat shows it; the others are kept."""
        result = []
        for name, out, enabled in self._outputs():
            entry: dict[str, Any] = {"output_key": name, "output_value": None,
                                     "description": out.get(self.keys.description,
                                                            "No description given")}
            if enabled:
                try:
                    entry["output_value"] = self.resolve(out.get(self.keys.value), resolver,
                                                         f"{self.keys.outputs}.{name}")
                except exc.OrchestrationError as e:
                    entry["output_error"] = e.message
            result.append(entry)
        return result

    def resolve(self, snippet: Any, resolver: fn.Resolver | None, path: str = "") -> Any:
        ctx = fn.Context(self.ctx.version, self.ctx.params, self.ctx.files, self.ctx.mappings,
                         self.ctx.conditions, self.ctx.resources, resolver, self.ctx.facade)
        value = fn.resolve(ctx, snippet, path)
        return None if value is fn.REMOVE else value

    def properties(self, name: str, resolver: fn.Resolver | None) -> dict[str, Any]:
        d = self.resources[name]
        return self.resolve(d.properties, resolver, f"{self.keys.resources}.{name}."
                                                     f"{self.keys.properties}")

    def metadata(self, name: str, resolver: fn.Resolver | None) -> dict[str, Any]:
        d = self.resources[name]
        return self.resolve(d.metadata, resolver, f"{self.keys.resources}.{name}."
                                                  f"{self.keys.metadata}")
