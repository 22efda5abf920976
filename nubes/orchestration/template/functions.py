"""Intrinsic functions of HOT and CFN, evaluated against a stack's parameters, conditions,
files and a ``Resolver`` for the resources' ids and attributes; also the walk that finds which
resources a snippet refers to (the dependency graph's edges)."""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import quote, urlencode

from nubes.orchestration import exceptions as exc
from nubes.orchestration.template import versions
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


def _join(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else str(key)


def function_of(ctx: Context, snippet: Any, conditions: bool = False) -> str | None:
    """The function ``snippet`` calls, or None when it is data; raise for a function this
    template's version does not have."""
    if not (isinstance(snippet, dict) and len(snippet) == 1):
        return None
    name = next(iter(snippet))
    allowed = ctx.version.condition_functions if conditions else ctx.version.functions
    if name in allowed:
        return name
    if not conditions and name in ctx.version.condition_functions:
        return None  # equals, and, or ... outside conditions are data, as in Heat
    if conditions and name in versions.ALL_FUNCTIONS:
        raise exc.StackValidationFailed(f'Invalid condition function "{name}"')
    if ctx.version.is_hot and name in versions.ALL_FUNCTIONS:
        raise exc.InvalidTemplateVersion(
            f"The function {name} is not supported in this version of HOT.")
    if not ctx.version.is_hot and isinstance(name, str) and name.startswith("Fn::"):
        raise exc.InvalidTemplateVersion(f"The function {name} is not supported in this "
                                         "template format.")
    return None


def _fail(name: str, message: str, path: str) -> exc.StackValidationFailed:
    return exc.StackValidationFailed(message, path=_join(path, name))


# -- evaluation ---------------------------------------------------------------------------------

def resolve(ctx: Context, snippet: Any, path: str = "") -> Any:
    name = function_of(ctx, snippet)
    if name is not None:
        args = snippet[name]
        if name in _LAZY:
            return _LAZY[name](ctx, args, _join(path, name))
        handler = _EAGER[name]
        value = resolve(ctx, args, _join(path, name))
        try:
            return handler(ctx, value, path)
        except exc.OrchestrationError:
            raise
        except (TypeError, ValueError, KeyError, IndexError) as e:
            raise _fail(name, str(e), path) from None
    if isinstance(snippet, dict):
        out = {k: resolve(ctx, v, _join(path, k)) for k, v in snippet.items()}
        return {k: v for k, v in out.items() if v is not REMOVE}
    if isinstance(snippet, list):
        items = [resolve(ctx, v, _join(path, i)) for i, v in enumerate(snippet)]
        return [v for v in items if v is not REMOVE]
    return snippet


def condition(ctx: Context, expr: Any, path: str, seen: tuple[str, ...] = ()) -> bool:
    """Evaluate a condition expression: a boolean, another condition's name, or a function."""
    if isinstance(expr, bool):
        return expr
    if isinstance(expr, str):
        if expr in ctx.conditions:
            return ctx.conditions[expr]
        raise exc.StackValidationFailed(f"Invalid condition \"{expr}\"", path=path)
    name = function_of(ctx, expr, conditions=True)
    if name is None:
        raise exc.StackValidationFailed(f"Invalid condition {json.dumps(expr)}", path=path)
    args, here = expr[name], _join(path, name)
    if name in ("equals", "Fn::Equals"):
        if not (isinstance(args, list) and len(args) == 2):
            raise exc.StackValidationFailed(f'Arguments to "{name}" must be of the form: '
                                            "[value_1, value_2]", path=here)
        a, b = (_cond_value(ctx, x, here) for x in args)
        return bool(a == b)
    if name in ("not", "Fn::Not"):
        inner = args[0] if name == "Fn::Not" and isinstance(args, list) and len(args) == 1 \
            else args
        return not condition(ctx, _cond_arg(ctx, inner), here)
    if name in ("and", "or", "Fn::And", "Fn::Or"):
        if not (isinstance(args, list) and len(args) >= 2):
            raise exc.StackValidationFailed(f'Arguments to "{name}" must be of the form: '
                                            "[condition_1, condition_2, ...]", path=here)
        results = [condition(ctx, _cond_arg(ctx, a), _join(here, i)) for i, a in enumerate(args)]
        return all(results) if name in ("and", "Fn::And") else any(results)
    if name == "contains":
        value, seq = (_cond_value(ctx, x, here) for x in args)
        return _contains(ctx, [value, seq], path)
    if name == "if":
        return bool(_if(ctx, args, here, cond_ctx=True))
    if name == "yaql":
        raise _yaql(here)
    return bool(_cond_value(ctx, expr, path))  # get_param / Ref giving a boolean


def _cond_arg(ctx: Context, arg: Any) -> Any:
    """In CFN, {"Condition": name} names a condition; in HOT a plain string does."""
    if isinstance(arg, dict) and list(arg) == ["Condition"]:
        return arg["Condition"]
    return arg


def _cond_value(ctx: Context, value: Any, path: str) -> Any:
    name = function_of(ctx, value, conditions=True)
    if name in ("get_param", "Ref"):
        return _param(ctx, value[name], path)
    if name is not None:
        return condition(ctx, value, path)
    if isinstance(value, (dict, list)):
        return resolve(ctx, value, path)
    return value


def _param(ctx: Context, args: Any, path: str) -> Any:
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


def _need_resolver(ctx: Context, name: str, path: str) -> Resolver:
    if ctx.resolver is None:
        raise exc.StackValidationFailed(f"{name} cannot be resolved before the stack's "
                                        "resources exist", path=path)
    return ctx.resolver


def _resource(ctx: Context, name: Any, path: str) -> str:
    if not isinstance(name, str) or name not in ctx.resources:
        raise exc.InvalidTemplateReference(str(name), path)
    return name


def _get_resource(ctx: Context, args: Any, path: str) -> Any:
    return _need_resolver(ctx, "get_resource", path).reference(_resource(ctx, args, path))


def _ref(ctx: Context, args: Any, path: str) -> Any:
    if args in ctx.params:
        return ctx.params[args]
    return _need_resolver(ctx, "Ref", path).reference(_resource(ctx, args, path))


def _get_attr(ctx: Context, args: Any, path: str) -> Any:
    if not isinstance(args, list) or not args:
        raise ValueError('Arguments to "get_attr" must be of the form [resource_name, '
                         "attribute, (path), ...]")
    if len(args) == 1 and not ctx.version.at_least("2015-10-15"):
        raise ValueError('Arguments to "get_attr" must be of the form [resource_name, '
                         "attribute, (path), ...]")
    res = _resource(ctx, args[0], path)
    name = args[1] if len(args) > 1 else None
    return _need_resolver(ctx, "get_attr", path).attribute(res, name, tuple(args[2:]))


def _getatt(ctx: Context, args: Any, path: str) -> Any:
    if not (isinstance(args, list) and len(args) == 2):
        raise ValueError('Arguments to "Fn::GetAtt" must be of the form [resource_name, '
                         "attribute]")
    return _need_resolver(ctx, "Fn::GetAtt", path).attribute(
        _resource(ctx, args[0], path), args[1], ())


def _get_file(ctx: Context, args: Any, path: str) -> Any:
    if not isinstance(args, str):
        raise TypeError('Argument to "get_file" must be a string')
    if args not in ctx.files:
        raise ValueError(f'No content found in the "files" section for get_file path: {args}')
    return ctx.files[args]


def _text(ctx: Context, value: Any, fn: str) -> str:
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower() if ctx.version.at_least("2016-10-14") else str(value)
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, (dict, list)) and ctx.version.at_least("2016-10-14"):
        return json.dumps(value)
    raise TypeError(f'"{fn}" params must be strings or numbers')


def _replace(ctx: Context, template: Any, params: Any, fn: str, strict: int = 0) -> str:
    if not isinstance(params, dict):
        raise TypeError(f'"params" parameter must be a dictionary for "{fn}"')
    if not isinstance(template, str):
        raise TypeError(f'"template" parameter must be a string for "{fn}"')
    mapping = {str(k): _text(ctx, v, fn) for k, v in params.items()}
    if strict:
        missing = sorted(k for k in mapping if k not in template)
        if missing:
            raise ValueError(f"The following params were not found in the template: "
                             f"{','.join(missing)}")
    if strict > 1:
        empty = sorted(k for k, v in mapping.items() if v == "")
        if empty:
            raise ValueError(f"The following params have empty values: {','.join(empty)}")
    # Longest keys first, one pass, so that a replaced value is never replaced again.
    keys = sorted(mapping, key=len, reverse=True)
    out, i = [], 0
    while i < len(template):
        for k in keys:
            if k and template.startswith(k, i):
                out.append(mapping[k])
                i += len(k)
                break
        else:
            out.append(template[i])
            i += 1
    return "".join(out)


def _str_replace(strict: int):
    fn = ("str_replace", "str_replace_strict", "str_replace_vstrict")[strict]

    def handler(ctx: Context, args: Any, path: str) -> str:
        if not isinstance(args, dict) or set(args) != {"template", "params"}:
            raise ValueError(f'"{fn}" syntax should be {{template: ..., params: {{...}}}}')
        return _replace(ctx, args["template"], args["params"], fn, strict)
    return handler


def _cfn_replace(ctx: Context, args: Any, path: str) -> str:
    if not (isinstance(args, list) and len(args) == 2):
        raise ValueError('Arguments to "Fn::Replace" must be of the form [{params}, template]')
    return _replace(ctx, args[1], args[0], "Fn::Replace")


def _list_join(ctx: Context, args: Any, path: str) -> str:
    if not (isinstance(args, list) and len(args) >= 2) or not isinstance(args[0], str):
        raise ValueError('Arguments to "list_join" must be of the form: [delimiter, list]')
    if len(args) > 2 and not ctx.version.at_least("2015-10-15"):
        raise ValueError('Arguments to "list_join" must be of the form: [delimiter, list]')
    items: list[Any] = []
    for lst in args[1:]:
        if not isinstance(lst, list):
            raise TypeError('Arguments to "list_join" must be of the form: [delimiter, list]')
        items.extend(lst)
    return args[0].join(_text(ctx, x, "list_join") for x in items)


def _cfn_join(ctx: Context, args: Any, path: str) -> str:
    if not (isinstance(args, list) and len(args) == 2 and isinstance(args[1], list)):
        raise ValueError('Arguments to "Fn::Join" must be of the form [delimiter, [list]]')
    return str(args[0]).join("" if x is None else str(x) for x in args[1])


def _split(ctx: Context, args: Any, path: str) -> Any:
    fn = "str_split" if ctx.version.is_hot and "str_split" in ctx.version.functions else "Fn::Split"
    if not (isinstance(args, list) and len(args) in (2, 3)) or not isinstance(args[1], str):
        raise ValueError(f'Arguments to "{fn}" must be of the form: [delimiter, string]')
    parts = args[1].split(args[0])
    return parts[int(args[2])] if len(args) == 3 else parts


def _select(ctx: Context, args: Any, path: str) -> Any:
    if not (isinstance(args, list) and len(args) == 2):
        raise ValueError('Arguments to "Fn::Select" must be of the form: [index, collection]')
    index, coll = args
    if isinstance(coll, str):  # perhaps serialised JSON
        try:
            coll = json.loads(coll)
        except ValueError as e:
            raise ValueError(f'"Fn::Select": {e}') from None
    try:
        if isinstance(coll, dict):
            return coll[index]
        return coll[int(index)]
    except (KeyError, IndexError, TypeError, ValueError):
        return ""


def _find_in_map(ctx: Context, args: Any, path: str) -> Any:
    if not (isinstance(args, list) and len(args) == 3):
        raise ValueError('Arguments to "Fn::FindInMap" must be of the form [MapName, Key, '
                         "Value]")
    try:
        return ctx.mappings[args[0]][args[1]][args[2]]
    except (KeyError, TypeError):
        raise KeyError(f"Mapping {args[0]}.{args[1]}.{args[2]} not found") from None


def _get_azs(ctx: Context, args: Any, path: str) -> Any:
    return list(_need_resolver(ctx, "Fn::GetAZs", path).availability_zones())


def _base64(ctx: Context, args: Any, path: str) -> Any:
    # Heat leaves the text as it is: the user data's encoding is done where it is sent.
    if not isinstance(args, str):
        raise TypeError('Arguments to "Fn::Base64" must be a string')
    return args


def _facade(ctx: Context, args: Any, path: str) -> Any:
    if args not in ("metadata", "deletion_policy", "update_policy"):
        raise ValueError(f'Invalid argument to "resource_facade": {args}')
    if ctx.facade is None:
        raise ValueError("resource_facade is only available in nested stacks")
    return ctx.facade.get(args)


def _cfn_facade(ctx: Context, args: Any, path: str) -> Any:
    key = {"Metadata": "metadata", "DeletionPolicy": "deletion_policy",
           "UpdatePolicy": "update_policy"}.get(args)
    if key is None:
        raise ValueError(f'Invalid argument to "Fn::ResourceFacade": {args}')
    return _facade(ctx, key, path)


def _member_list_to_map(ctx: Context, args: Any, path: str) -> Any:
    if not (isinstance(args, list) and len(args) == 3 and isinstance(args[2], list)):
        raise ValueError('Wrong Arguments try: "[key_name, value_name, list]"')
    key_name, value_name, members = args
    keys: dict[str, str] = {}
    values: dict[str, str] = {}
    for item in members:
        prefix, _, rest = str(item).partition("=")
        parts = prefix.split(".")
        if len(parts) == 3 and parts[2] in (key_name, value_name):
            (keys if parts[2] == key_name else values)[parts[1]] = rest
    return {keys[i]: values.get(i) for i in keys}


def _digest(ctx: Context, args: Any, path: str) -> str:
    if not (isinstance(args, list) and len(args) == 2 and all(isinstance(a, str) for a in args)):
        raise ValueError('Arguments to "digest" must be of the form: [algorithm, value]')
    try:
        h = hashlib.new(args[0])
    except ValueError:
        raise ValueError(f'Algorithm must be one of {sorted(hashlib.algorithms_available)}') \
            from None
    h.update(args[1].encode("utf-8"))
    return h.hexdigest()


def _repeat(ctx: Context, args: Any, path: str) -> list[Any]:
    if not isinstance(args, dict) or not {"for_each", "template"} <= set(args):
        raise KeyError('"repeat" syntax should be {for_each: {var: list}, template: ...}')
    for_each, template = args["for_each"], args["template"]
    permutations = args.get("permutations", True)
    if "permutations" in args and not ctx.version.at_least("2017-09-01"):
        raise KeyError('"repeat" syntax should be {for_each: {var: list}, template: ...}')
    if not isinstance(for_each, dict) or not all(isinstance(v, list) for v in for_each.values()):
        raise TypeError('The values of the "for_each" argument to "repeat" must be lists')
    if isinstance(template, dict) and not ctx.version.at_least("2016-10-14"):
        raise TypeError('The "template" argument to "repeat" must be a string or a list')
    keys = list(for_each)
    if permutations:
        combos = list(itertools.product(*(for_each[k] for k in keys)))
    else:
        lengths = {len(for_each[k]) for k in keys}
        if len(lengths) > 1:
            raise ValueError('Loops in "repeat" must be of the same length when permutations '
                             "is false")
        combos = list(zip(*(for_each[k] for k in keys), strict=True))
    return [_substitute(template, dict(zip(keys, combo, strict=True))) for combo in combos]


def _substitute(template: Any, mapping: dict[str, Any]) -> Any:
    if isinstance(template, str):
        for k, v in mapping.items():
            template = template.replace(k, str(v))
        return template
    if isinstance(template, dict):
        return {_substitute(k, mapping): _substitute(v, mapping) for k, v in template.items()}
    if isinstance(template, list):
        return [_substitute(v, mapping) for v in template]
    return template


def _map_merge(ctx: Context, args: Any, path: str) -> dict[str, Any]:
    if not isinstance(args, list) or not all(isinstance(m, dict) for m in args):
        raise TypeError('Incorrect arguments to "map_merge" should be: [{...}, {...}, ...]')
    out: dict[str, Any] = {}
    for m in args:
        out.update(m)
    return out


def _map_replace(ctx: Context, args: Any, path: str) -> dict[str, Any]:
    if not (isinstance(args, list) and len(args) == 2 and isinstance(args[0], dict)
            and isinstance(args[1], dict) and set(args[1]) <= {"keys", "values"}):
        raise TypeError('Incorrect arguments to "map_replace" should be: '
                        "[{...}, {keys: {...}, values: {...}}]")
    keys, values = args[1].get("keys") or {}, args[1].get("values") or {}
    out: dict[str, Any] = {}
    for k, v in args[0].items():
        new = keys.get(k, k)
        if new in out:
            raise ValueError(f'key replacement {new} collides with a key in the input map')
        out[new] = values.get(v, v) if isinstance(v, (str, int, float, bool)) else v
    return out


def _if(ctx: Context, args: Any, path: str, cond_ctx: bool = False) -> Any:
    two = ctx.version.at_least("2018-08-31")
    if not (isinstance(args, list) and (len(args) == 3 or (two and len(args) == 2))):
        raise exc.StackValidationFailed('Arguments to "if" must be of the form: '
                                        "[condition_name, value_if_true, value_if_false]",
                                        path=path)
    truth = condition(ctx, _cond_arg(ctx, args[0]), path)
    if truth:
        return resolve(ctx, args[1], _join(path, 1))
    return resolve(ctx, args[2], _join(path, 2)) if len(args) == 3 else REMOVE


def _cfn_if(ctx: Context, args: Any, path: str) -> Any:
    if not (isinstance(args, list) and len(args) == 3):
        raise exc.StackValidationFailed('Arguments to "Fn::If" must be of the form: '
                                        "[condition_name, value_if_true, value_if_false]",
                                        path=path)
    return _if(ctx, args, path)


def _contains(ctx: Context, args: Any, path: str) -> bool:
    if not (isinstance(args, list) and len(args) == 2):
        raise ValueError('Arguments to "contains" must be of the form: [value, sequence]')
    if not isinstance(args[1], (list, str, dict)):
        raise TypeError('The second argument to "contains" must be a sequence')
    return args[0] in args[1]


def _filter(ctx: Context, args: Any, path: str) -> list[Any]:
    if not (isinstance(args, list) and len(args) == 2 and isinstance(args[1], list)):
        raise ValueError('Arguments to "filter" must be of the form: [values, sequence]')
    remove = args[0] if isinstance(args[0], list) else [args[0]]
    return [x for x in args[1] if x not in remove]


def _make_url(ctx: Context, args: Any, path: str) -> str:
    known = {"scheme", "host", "port", "path", "query", "fragment"}
    if not isinstance(args, dict) or not set(args) <= known:
        raise ValueError(f'"make_url" arguments must be a map with keys among {sorted(known)}')
    host = str(args.get("host", ""))
    if ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 literal
    url = f"{args['scheme']}://" if args.get("scheme") else ""
    url += host
    if args.get("port") is not None:
        port = int(args["port"])
        if not 1 <= port <= 65535:
            raise ValueError(f'Invalid URL port {port}')
        url += f":{port}"
    p = str(args.get("path", ""))
    url += quote(p if p.startswith("/") or not p else "/" + p)
    if args.get("query"):
        if not isinstance(args["query"], dict):
            raise TypeError('"query" in "make_url" must be a map')
        url += "?" + urlencode(args["query"])
    if args.get("fragment"):
        url += "#" + quote(str(args["fragment"]))
    return url


def _list_concat(unique: bool):
    fn = "list_concat_unique" if unique else "list_concat"

    def handler(ctx: Context, args: Any, path: str) -> list[Any]:
        if not isinstance(args, list) or not all(isinstance(x, list) for x in args):
            raise TypeError(f'Incorrect arguments to "{fn}" should be: [[...], [...], ...]')
        out: list[Any] = []
        for lst in args:
            for x in lst:
                if not unique or x not in out:
                    out.append(x)
        return out
    return handler


def _yaql(path: str) -> exc.StackValidationFailed:
    return exc.StackValidationFailed('The function "yaql" is not supported by this cloud.',
                                     path=path)


def _yaql_fn(ctx: Context, args: Any, path: str) -> Any:
    raise _yaql(path)


_EAGER = {
    "get_param": lambda ctx, a, p: _param(ctx, a, p), "get_resource": _get_resource,
    "get_attr": _get_attr, "get_file": _get_file, "str_replace": _str_replace(0),
    "str_replace_strict": _str_replace(1), "str_replace_vstrict": _str_replace(2),
    "list_join": _list_join, "repeat": _repeat, "digest": _digest, "map_merge": _map_merge,
    "map_replace": _map_replace, "contains": _contains, "filter": _filter,
    "make_url": _make_url, "list_concat": _list_concat(False),
    "list_concat_unique": _list_concat(True), "str_split": _split, "resource_facade": _facade,
    "Ref": _ref, "Fn::GetAtt": _getatt, "Fn::Join": _cfn_join, "Fn::Base64": _base64,
    "Fn::Select": _select, "Fn::Split": _split, "Fn::FindInMap": _find_in_map,
    "Fn::GetAZs": _get_azs, "Fn::Replace": _cfn_replace, "Fn::ResourceFacade": _cfn_facade,
    "Fn::MemberListToMap": _member_list_to_map, "yaql": _yaql_fn,
}
_LAZY = {"if": _if, "Fn::If": _cfn_if}


# -- references -----------------------------------------------------------------------------

def references(ctx: Context, snippet: Any, path: str) -> Iterator[tuple[str, str]]:
    """Every resource ``snippet`` names through get_resource, get_attr, Ref or Fn::GetAtt, with
    the path where it does; only the taken branch of an ``if`` counts."""
    name = function_of(ctx, snippet)
    if name is not None:
        args = snippet[name]
        if name in ("if", "Fn::If") and isinstance(args, list) and len(args) in (2, 3):
            taken = 1 if condition(ctx, _cond_arg(ctx, args[0]), path) else 2
            if taken < len(args):
                yield from references(ctx, args[taken], path)
            return
        if name == "get_param":
            key = args[0] if isinstance(args, list) and args else args
            if isinstance(key, str) and key not in ctx.params:
                raise exc.UserParameterMissing(key)
        if name == "get_resource" and isinstance(args, str):
            yield args, path
            return
        if name == "Ref" and isinstance(args, str):
            if args not in ctx.params:
                yield args, path
            return
        if name in ("get_attr", "Fn::GetAtt") and isinstance(args, list) and args:
            if isinstance(args[0], str):
                yield args[0], path
            for i, a in enumerate(args[1:], 1):
                yield from references(ctx, a, _join(path, i))
            return
        yield from references(ctx, args, path)
    elif isinstance(snippet, dict):
        for k, v in snippet.items():
            yield from references(ctx, v, _join(path, k))
    elif isinstance(snippet, list):
        for i, v in enumerate(snippet):
            yield from references(ctx, v, _join(path, i))
