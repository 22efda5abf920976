"""The data functions of HOT and CFN (all but ``if`` and the condition functions): each takes
its arguments already resolved and returns the value, raising ValueError, TypeError or KeyError
worded as Heat words them for bad arguments."""

from __future__ import annotations

import hashlib
import itertools
import json
from typing import Any
from urllib.parse import quote, urlencode

from nubes.orchestration import exceptions as exc
from nubes.orchestration.template.context import Context, need_resolver, param, resource

def _get_resource(ctx: Context, args: Any, path: str) -> Any:
    return need_resolver(ctx, "get_resource", path).reference(resource(ctx, args, path))


def _ref(ctx: Context, args: Any, path: str) -> Any:
    if args in ctx.params:
        return ctx.params[args]
    return need_resolver(ctx, "Ref", path).reference(resource(ctx, args, path))


def _get_attr(ctx: Context, args: Any, path: str) -> Any:
    if not isinstance(args, list) or not args:
        raise ValueError('Arguments to "get_attr" must be of the form [resource_name, '
                         "attribute, (path), ...]")
    if len(args) == 1 and not ctx.version.at_least("2015-10-15"):
        raise ValueError('Arguments to "get_attr" must be of the form [resource_name, '
                         "attribute, (path), ...]")
    res = resource(ctx, args[0], path)
    name = args[1] if len(args) > 1 else None
    return need_resolver(ctx, "get_attr", path).attribute(res, name, tuple(args[2:]))


def _getatt(ctx: Context, args: Any, path: str) -> Any:
    if not (isinstance(args, list) and len(args) == 2):
        raise ValueError('Arguments to "Fn::GetAtt" must be of the form [resource_name, '
                         "attribute]")
    return need_resolver(ctx, "Fn::GetAtt", path).attribute(
        resource(ctx, args[0], path), args[1], ())


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
    return list(need_resolver(ctx, "Fn::GetAZs", path).availability_zones())


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


def contains(ctx: Context, args: Any, path: str) -> bool:
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


def yaql_error(path: str) -> exc.StackValidationFailed:
    return exc.StackValidationFailed('The function "yaql" is not supported by this cloud.',
                                     path=path)


def _yaql_fn(ctx: Context, args: Any, path: str) -> Any:
    raise yaql_error(path)


EAGER = {
    "get_param": lambda ctx, a, p: param(ctx, a, p), "get_resource": _get_resource,
    "get_attr": _get_attr, "get_file": _get_file, "str_replace": _str_replace(0),
    "str_replace_strict": _str_replace(1), "str_replace_vstrict": _str_replace(2),
    "list_join": _list_join, "repeat": _repeat, "digest": _digest, "map_merge": _map_merge,
    "map_replace": _map_replace, "contains": contains, "filter": _filter,
    "make_url": _make_url, "list_concat": _list_concat(False),
    "list_concat_unique": _list_concat(True), "str_split": _split, "resource_facade": _facade,
    "Ref": _ref, "Fn::GetAtt": _getatt, "Fn::Join": _cfn_join, "Fn::Base64": _base64,
    "Fn::Select": _select, "Fn::Split": _split, "Fn::FindInMap": _find_in_map,
    "Fn::GetAZs": _get_azs, "Fn::Replace": _cfn_replace, "Fn::ResourceFacade": _cfn_facade,
    "Fn::MemberListToMap": _member_list_to_map, "yaql": _yaql_fn,
}
