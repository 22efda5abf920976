"""Evaluating snippets: which function a snippet calls (refusing one its template version
lacks), conditions and ``if``, and the walk that finds the resources a snippet refers to (the
dependency graph's edges)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from nubes.orchestration import exceptions as exc
from nubes.orchestration.template import versions
from nubes.orchestration.template.context import REMOVE, Context, Resolver, fail, join, param
from nubes.orchestration.template.intrinsics import EAGER, contains, yaql_error

__all__ = ["REMOVE", "Context", "Resolver", "condition", "function_of", "references", "resolve"]


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


# -- evaluation ---------------------------------------------------------------------------------

def resolve(ctx: Context, snippet: Any, path: str = "") -> Any:
    name = function_of(ctx, snippet)
    if name is not None:
        args = snippet[name]
        if name in _LAZY:
            return _LAZY[name](ctx, args, join(path, name))
        handler = EAGER[name]
        value = resolve(ctx, args, join(path, name))
        try:
            return handler(ctx, value, path)
        except exc.OrchestrationError:
            raise
        except (TypeError, ValueError, KeyError, IndexError) as e:
            raise fail(name, str(e), path) from None
    if isinstance(snippet, dict):
        out = {k: resolve(ctx, v, join(path, k)) for k, v in snippet.items()}
        return {k: v for k, v in out.items() if v is not REMOVE}
    if isinstance(snippet, list):
        items = [resolve(ctx, v, join(path, i)) for i, v in enumerate(snippet)]
        return [v for v in items if v is not REMOVE]
    return snippet


def condition(ctx: Context, expr: Any, path: str) -> bool:
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
    args, here = expr[name], join(path, name)
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
        results = [condition(ctx, _cond_arg(ctx, a), join(here, i)) for i, a in enumerate(args)]
        return all(results) if name in ("and", "Fn::And") else any(results)
    if name == "contains":
        value, seq = (_cond_value(ctx, x, here) for x in args)
        return contains(ctx, [value, seq], path)
    if name == "if":
        return bool(_if(ctx, args, here))
    if name == "yaql":
        raise yaql_error(here)
    return bool(_cond_value(ctx, expr, path))  # get_param / Ref giving a boolean


def _cond_arg(ctx: Context, arg: Any) -> Any:
    """In CFN, {"Condition": name} names a condition; in HOT a plain string does."""
    if isinstance(arg, dict) and list(arg) == ["Condition"]:
        return arg["Condition"]
    return arg


def _cond_value(ctx: Context, value: Any, path: str) -> Any:
    name = function_of(ctx, value, conditions=True)
    if name in ("get_param", "Ref"):
        return param(ctx, value[name], path)
    if name is not None:
        return condition(ctx, value, path)
    if isinstance(value, (dict, list)):
        return resolve(ctx, value, path)
    return value


def _if(ctx: Context, args: Any, path: str) -> Any:
    two = ctx.version.at_least("2018-08-31")
    if not (isinstance(args, list) and (len(args) == 3 or (two and len(args) == 2))):
        raise exc.StackValidationFailed('Arguments to "if" must be of the form: '
                                        "[condition_name, value_if_true, value_if_false]",
                                        path=path)
    truth = condition(ctx, _cond_arg(ctx, args[0]), path)
    if truth:
        return resolve(ctx, args[1], join(path, 1))
    return resolve(ctx, args[2], join(path, 2)) if len(args) == 3 else REMOVE


def _cfn_if(ctx: Context, args: Any, path: str) -> Any:
    if not (isinstance(args, list) and len(args) == 3):
        raise exc.StackValidationFailed('Arguments to "Fn::If" must be of the form: '
                                        "[condition_name, value_if_true, value_if_false]",
                                        path=path)
    return _if(ctx, args, path)


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
                yield from references(ctx, a, join(path, i))
            return
        yield from references(ctx, args, path)
    elif isinstance(snippet, dict):
        for k, v in snippet.items():
            yield from references(ctx, v, join(path, k))
    elif isinstance(snippet, list):
        for i, v in enumerate(snippet):
            yield from references(ctx, v, join(path, i))
