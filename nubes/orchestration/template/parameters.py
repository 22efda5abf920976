"""Parameter schemas (HOT and CFN), their constraints, values given by the user, defaults and
pseudo-parameters, and ``parameter_groups``; errors in Heat's wording."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from nubes.orchestration import exceptions as exc
from nubes.orchestration.template.versions import Version

# Custom constraints by name ("nova.flavor", "neutron.network" ...): the service registers a
# callable taking the value and returning None when valid, or the reason it is not.
CustomCheck = Callable[[Any], "str | None"]
CUSTOM_CONSTRAINTS: dict[str, CustomCheck] = {}

HOT_TYPES = ("string", "number", "json", "comma_delimited_list", "boolean")
CFN_TYPES = {"String": "string", "Number": "number", "CommaDelimitedList": "comma_delimited_list",
             "Json": "json", "Boolean": "boolean"}
_HOT_KEYS = {"type", "label", "description", "default", "hidden", "constraints", "immutable",
             "tags"}
_CFN_KEYS = {"Type", "Default", "NoEcho", "AllowedValues", "AllowedPattern", "MaxLength",
             "MinLength", "MaxValue", "MinValue", "Description", "ConstraintDescription", "Label"}
_TRUE = ("1", "t", "true", "on", "y", "yes")
_FALSE = ("0", "f", "false", "off", "n", "no")
_SCHEMA_TYPE = {"string": "String", "number": "Number", "json": "Map",
                "comma_delimited_list": "List", "boolean": "Boolean"}


@dataclass
class Constraint:
    kind: str                   # length, range, modulo, allowed_values, allowed_pattern, custom
    spec: Any
    description: str | None = None

    def check(self, value: Any) -> None:
        reason = self._reason(value)
        if reason is not None:
            raise ValueError(self.description or reason)

    def _reason(self, value: Any) -> str | None:
        if self.kind in ("length", "range"):
            lo, hi = self.spec.get("min"), self.spec.get("max")
            x = len(value) if self.kind == "length" else value
            if (lo is None or x >= lo) and (hi is None or x <= hi):
                return None
            what = f"length ({x})" if self.kind == "length" else f"{value}"
            return f"{what} is out of range (min: {lo}, max: {hi})"
        if self.kind == "modulo":
            step, offset = self.spec["step"], self.spec["offset"]
            if value % step == offset:
                return None
            return f"{value} is not a multiple of {step} with an offset of {offset}"
        if self.kind == "allowed_values":
            allowed = [str(a) for a in self.spec]
            values = value if isinstance(value, list) else [value]
            if all(v in self.spec or str(v) in allowed for v in values):
                return None
            return f'"{value}" is not an allowed value [{", ".join(allowed)}]'
        if self.kind == "allowed_pattern":
            values = value if isinstance(value, list) else [value]
            for v in values:
                m = re.match(self.spec, str(v))
                if m is None or m.end() != len(str(v)):
                    return f'"{v}" does not match pattern "{self.spec}"'
            return None
        check = CUSTOM_CONSTRAINTS.get(self.spec)
        if check is None:  # nothing can check it: refused, as Heat refuses it
            return f'"{value}" does not validate {self.spec} (constraint not found)'
        reason = check(value)
        if reason is None:
            return None
        if not reason:
            return f'"{value}" does not validate {self.spec}'
        return f"Error validating value '{value}': {reason}"


@dataclass
class Parameter:
    name: str
    type: str                   # one of HOT_TYPES
    default: Any = None
    description: str = ""
    label: str | None = None
    hidden: bool = False
    immutable: bool = False
    tags: list[str] = field(default_factory=list)
    constraints: list[Constraint] = field(default_factory=list)
    has_default: bool = False

    def coerce(self, raw: Any) -> Any:
        """The typed value of ``raw`` (a user's string or a template literal)."""
        if self.type == "string":
            if isinstance(raw, (dict, list)):
                raise ValueError(f'Value "{raw}" is invalid for data type "String".')
            return raw if isinstance(raw, str) else ("" if raw is None else str(raw))
        if self.type == "number":
            if isinstance(raw, bool):
                raise ValueError(f'Value "{raw}" is invalid for data type "Number".')
            if isinstance(raw, (int, float)):
                return raw
            try:
                return int(raw)
            except (TypeError, ValueError):
                return float(raw)  # its error is the message, as in Heat
        if self.type == "boolean":
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in _TRUE or text in _FALSE:
                return text in _TRUE
            raise ValueError(f"Unrecognized value '{raw}', acceptable values are: "
                             + ", ".join(f"'{v}'" for v in sorted(_TRUE + _FALSE)))
        if self.type == "json":
            if isinstance(raw, (dict, list)):
                return raw
            try:
                value = json.loads(raw) if raw not in (None, "") else {}
            except (TypeError, ValueError) as e:
                raise ValueError(f"Value must be valid JSON: {e}") from None
            if not isinstance(value, (dict, list)):
                raise ValueError(f"Value must be valid JSON: {raw}")
            return value
        if isinstance(raw, list):
            return [str(x) for x in raw]
        if raw is None or raw == "":
            return []
        if not isinstance(raw, str):
            raise ValueError(f"Value must be a comma-delimited list string: {raw}")
        return raw.split(",")

    def value_of(self, raw: Any) -> Any:
        try:
            value = self.coerce(raw)
            for c in self.constraints:
                c.check(value)
        except ValueError as e:
            raise exc.StackValidationFailed(f"Parameter '{self.name}' is invalid: {e}") from None
        return value


def _hot_constraints(name: str, type_: str, raw: Any, version: Version) -> list[Constraint]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise exc.InvalidSchemaError(f"Invalid parameter constraints for parameter {name}, "
                                     "expected a list")
    kinds = {"length", "range", "allowed_values", "allowed_pattern", "custom_constraint"}
    if version.at_least("2017-02-24"):
        kinds.add("modulo")
    out = []
    for item in raw:
        if not isinstance(item, dict):
            raise exc.InvalidSchemaError(f"Invalid parameter constraints for parameter {name}, "
                                         "expected a list")
        desc = item.get("description")
        found = [k for k in item if k != "description"]
        if len(found) != 1 or found[0] not in kinds:
            raise exc.InvalidSchemaError(f"Invalid key {found[0] if found else ''!r} for "
                                         f"parameter constraints of {name}")
        kind, spec = found[0], item[found[0]]
        if kind == "custom_constraint":
            kind = "custom"
        _check_spec(name, kind, spec)
        if kind == "length" and type_ not in ("string", "comma_delimited_list", "json"):
            raise exc.InvalidSchemaError(f"Length constraint invalid for {_SCHEMA_TYPE[type_]}")
        if kind in ("range", "modulo") and type_ != "number":
            raise exc.InvalidSchemaError(
                f"{kind.capitalize()} constraint invalid for {_SCHEMA_TYPE[type_]}")
        out.append(Constraint(kind, spec, desc))
    return out


def _schema_error(name: str, message: str) -> exc.InvalidSchemaError:
    return exc.InvalidSchemaError(f"Parameter '{name}' is invalid: {message}")


def _check_spec(name: str, kind: str, spec: Any) -> None:
    """Heat's checks of a constraint's own definition."""
    def number(x: Any) -> bool:
        return x is None or (isinstance(x, (int, float)) and not isinstance(x, bool))
    if kind in ("length", "range"):
        if not isinstance(spec, dict) or (spec.get("min") is None and spec.get("max") is None):
            raise _schema_error(name, f"A {kind} constraint must have a min value and/or a max "
                                      "value specified.")
        bounds = (spec.get("min"), spec.get("max"))
        if kind == "range" and not all(number(x) for x in bounds):
            raise _schema_error(name, "min/max must be numeric")
        if kind == "length" and not all(x is None or (isinstance(x, int)
                                                      and not isinstance(x, bool))
                                        for x in bounds):
            raise _schema_error(name, "min/max length must be integral")
    elif kind == "modulo":
        if not isinstance(spec, dict) or spec.get("step") is None or spec.get("offset") is None:
            raise _schema_error(name, "A modulo constraint must have a step value and an offset "
                                      "value specified.")
        step, offset = spec["step"], spec["offset"]
        if not (number(step) and number(offset)) or int(step) != step or int(offset) != offset:
            raise _schema_error(name, "step/offset must be integer")
        if step == 0:
            raise _schema_error(name, "step cannot be 0.")
        if abs(offset) >= abs(step):
            raise _schema_error(name, "offset must be smaller (by absolute value) than step.")
        if step * offset < 0:
            raise _schema_error(name, "step and offset must be both positive or both negative.")
    elif kind == "allowed_values" and not isinstance(spec, list):
        raise _schema_error(name, "AllowedValues must be a list")
    elif kind == "allowed_pattern" and not isinstance(spec, str):
        raise _schema_error(name, "AllowedPattern must be a string")


def hot_parameter(name: str, schema: Any, version: Version) -> Parameter:
    if not isinstance(schema, dict):
        raise exc.InvalidSchemaError(f"Invalid parameter {name}: schema must be a map")
    for key in schema:
        if key not in _HOT_KEYS:
            raise exc.InvalidSchemaError(f"Invalid key '{key}' for parameter ({name})")
    type_ = schema.get("type")
    if type_ is None:
        raise exc.InvalidSchemaError(f"Missing parameter type for parameter: {name}")
    if type_ not in HOT_TYPES:
        raise exc.InvalidSchemaError(f"Invalid type ({type_})")
    param = Parameter(name, type_, description=schema.get("description", ""),
                      label=schema.get("label"), hidden=bool(schema.get("hidden", False)),
                      immutable=bool(schema.get("immutable", False)),
                      tags=list(schema.get("tags") or []),
                      constraints=_hot_constraints(name, type_, schema.get("constraints"), version))
    _set_default(param, schema, "default")
    return param


def cfn_parameter(name: str, schema: Any) -> Parameter:
    if not isinstance(schema, dict):
        raise exc.InvalidSchemaError(f"Invalid parameter {name}: schema must be a map")
    for key in schema:
        if key not in _CFN_KEYS:
            raise exc.InvalidSchemaError(f"Invalid key '{key}' for parameter ({name})")
    if "Type" not in schema:
        raise exc.InvalidSchemaError(f"Missing parameter type for parameter: {name}")
    if schema["Type"] not in CFN_TYPES:
        raise exc.InvalidSchemaError(f"Invalid type ({schema['Type']})")
    type_, desc = CFN_TYPES[schema["Type"]], schema.get("ConstraintDescription")
    cons = []
    for kind, lo, hi in (("length", "MinLength", "MaxLength"), ("range", "MinValue", "MaxValue")):
        bounds = {k: float(schema[c]) if kind == "range" else int(schema[c])
                  for k, c in (("min", lo), ("max", hi)) if c in schema}
        if bounds:
            cons.append(Constraint(kind, bounds, desc))
    if "AllowedValues" in schema:
        cons.append(Constraint("allowed_values", list(schema["AllowedValues"]), desc))
    if "AllowedPattern" in schema:
        cons.append(Constraint("allowed_pattern", schema["AllowedPattern"], desc))
    noecho = str(schema.get("NoEcho", "false")).lower() == "true"
    param = Parameter(name, type_, description=schema.get("Description", ""),
                      label=schema.get("Label"), hidden=noecho, constraints=cons)
    _set_default(param, schema, "Default")
    return param


def _set_default(param: Parameter, schema: dict[str, Any], key: str) -> None:
    if key in schema:
        param.has_default = True
        param.default = schema[key]
        if schema[key] is not None:  # a default must itself pass the constraints
            try:
                value = param.coerce(schema[key])
                for c in param.constraints:
                    if c.kind != "custom":
                        c.check(value)
            except ValueError as e:
                raise _schema_error(param.name, f"Invalid default {schema[key]} ({e})") from None


def resolve_values(params: dict[str, Parameter], given: dict[str, Any],
                   defaults: dict[str, Any]) -> dict[str, Any]:
    """Every parameter's typed value: the user's, else the environment's parameter_defaults,
    else the template's default; a parameter with none is missing."""
    for key in given:
        if key not in params:
            raise exc.UnknownUserParameter(key)
    values = {}
    for name, p in params.items():
        if name in given:
            values[name] = p.value_of(given[name])
        elif name in defaults:
            values[name] = p.value_of(defaults[name])
        elif p.has_default:
            values[name] = p.value_of(p.default) if p.default is not None else p.coerce(None)
        else:
            raise exc.UserParameterMissing(name)
    return values


def pseudo_parameters(version: Version, stack_name: str, stack_id: str, project_id: str,
                      region: str) -> dict[str, str]:
    if version.is_hot:
        return {"OS::stack_name": stack_name, "OS::stack_id": stack_id,
                "OS::project_id": project_id}
    return {"AWS::StackName": stack_name, "AWS::StackId": stack_id, "AWS::Region": region,
            "OS::stack_name": stack_name, "OS::stack_id": stack_id, "OS::project_id": project_id}


def validate_groups(groups: Any, params: dict[str, Parameter]) -> None:
    if groups is None:
        return
    err = "Parameter Groups error"
    if not isinstance(groups, list):
        raise exc.StackValidationFailed("The parameter_groups should be a list.", error=err,
                                        path="parameter_groups")
    seen: set[str] = set()
    for i, group in enumerate(groups):
        label = group.get("label", str(i)) if isinstance(group, dict) else str(i)
        path = f"parameter_groups.{label}"
        if not isinstance(group, dict):
            raise exc.StackValidationFailed("The parameter_groups should be a list of maps.",
                                            error=err, path=path)
        names = group.get("parameters")
        if names is None:
            raise exc.StackValidationFailed("Parameters must be provided for each Parameter "
                                            "Group.", error=err, path=path)
        if not isinstance(names, list):
            raise exc.StackValidationFailed("The parameters of parameter group should be a "
                                            "list.", error=err, path=f"{path}.parameters")
        for name in names:
            if name in seen:
                raise exc.StackValidationFailed(f"The {name} parameter must be assigned to one "
                                                "parameter group only.", error=err,
                                                path=f"{path}.parameters")
            seen.add(name)
            if name not in params:
                raise exc.StackValidationFailed(f"The grouped parameter {name} does not "
                                                "reference a valid parameter.", error=err,
                                                path=f"{path}.parameters")
