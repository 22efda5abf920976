"""Query strings of GET /allocation_candidates and GET /resource_providers, parsed as Placement does."""

from __future__ import annotations

import re
from typing import Any

from nubes.core.api.http import Request
from nubes.placement import exceptions as exc
from nubes.placement.api.validation import is_uuid, validate_query
from nubes.placement.service.requests import CandidateRequest, RequestGroup

PREFIXES = ("resources", "required", "member_of", "in_tree")
SUFFIX = r"[1-9][0-9]*"
SUFFIX_1_33 = r"[a-zA-Z0-9_-]{1,64}"
KEY = re.compile(rf"^(resources|required|member_of|in_tree)({SUFFIX})?$")
KEY_1_33 = re.compile(rf"^(resources|required|member_of|in_tree)({SUFFIX_1_33})?$")


def _multi(req: Request) -> list[tuple[str, str]]:
    return list(req.query_params.multi_items())


def _getall(items: list[tuple[str, str]], key: str) -> list[str]:
    return [v for k, v in items if k == key]


def resources(qs: str) -> dict[str, int]:
    if qs.strip() == "":
        raise exc.BadRequest("Badly formed resources parameter. Expected resources query string parameter "
                             "in form: ?resources=VCPU:2,MEMORY_MB:1024. Got: empty string.")
    out: dict[str, int] = {}
    for spec in qs.split(","):
        try:
            name, amount = spec.split(":")
        except ValueError:
            raise exc.BadRequest("Badly formed resources parameter. Expected resources query string "
                                 "parameter in form: ?resources=VCPU:2,MEMORY_MB:1024. "
                                 f"Got: {spec}.") from None
        try:
            n = int(amount)
        except ValueError:
            raise exc.BadRequest(f"Requested resource {name} expected positive integer amount. "
                                 f"Got: {amount}.") from None
        if n < 1:
            raise exc.BadRequest(f"Requested resource {name} requires amount >= 1. Got: {n}.")
        out[name] = n
    return out


def traits(val: str, *, allow_forbidden: bool, allow_any: bool) -> tuple[list[set[str]], set[str]]:
    if val.startswith("in:"):
        if not allow_any:
            raise exc.BadRequest("Invalid query string parameters: The format "
                                 "'in:HW_CPU_X86_VMX,CUSTOM_MAGIC' only supported since microversion 1.39. "
                                 f"Got: {val}")
        any_of = {t.strip() for t in val[3:].split(",")}
        if not all(any_of):
            raise exc.BadRequest("Invalid query string parameters: Expected 'required' parameter value "
                                 f"of the form: in:HW_CPU_X86_VMX,CUSTOM_MAGIC. Got an empty trait in: {val}")
        if any(t.startswith("!") for t in any_of):
            raise exc.BadRequest("Invalid query string parameters: The format "
                                 "'in:HW_CPU_X86_VMX,CUSTOM_MAGIC' does not support forbidden traits. "
                                 f"Got: {val}")
        return [any_of], set()
    names = [t.strip() for t in val.split(",")]
    forbidden = {t.lstrip("!") for t in names if t.startswith("!")}
    if not all(names) or not all(forbidden):
        form = "HW_CPU_X86_VMX,!CUSTOM_MAGIC" if allow_forbidden else "HW_CPU_X86_VMX,CUSTOM_MAGIC"
        raise exc.BadRequest("Invalid query string parameters: Expected 'required' parameter value of the "
                             f"form: {form}. Got an empty trait in: {val}")
    if forbidden and not allow_forbidden:
        raise exc.BadRequest("Invalid query string parameters: Expected 'required' parameter value of the "
                             f"form: HW_CPU_X86_VMX,CUSTOM_MAGIC. Got: {val}")
    return [{t} for t in names if not t.startswith("!")], forbidden


Traits = tuple[list[set[str]], set[str]]


def required_params(items: list[tuple[str, str]], key: str, v: tuple[int, int]) -> Traits:
    values = _getall(items, key)
    if v < (1, 39):
        values = values[-1:]
    req: list[set[str]] = []
    forb: set[str] = set()
    for val in values:
        r, f = traits(val, allow_forbidden=v >= (1, 22), allow_any=v >= (1, 39))
        req += r
        forb |= f
    return req, forb


def member_of_one(value: str) -> tuple[set[str], set[str]]:
    if "," in value and not (value.startswith("in:") or value.startswith("!in:")):
        raise exc.BadRequest("Multiple values for 'member_of' must be prefixed with the 'in:' or '!in:' "
                             f"keyword using the valid microversion. Got: {value}")
    required: set[str] = set()
    forbidden: set[str] = set()
    if value.startswith("!in:"):
        forbidden = set(value[4:].split(","))
    elif value.startswith("!"):
        forbidden = {value[1:]}
    elif value.startswith("in:"):
        required = set(value[3:].split(","))
    else:
        required = {value}
    for agg in required | forbidden:
        if not is_uuid(agg):
            raise exc.BadRequest("Invalid query string parameters: Expected 'member_of' parameter to contain "
                                 f"valid UUID(s). Got: {agg}")
    return required, forbidden


def member_of_params(items: list[tuple[str, str]], key: str, v: tuple[int, int]) -> Traits:
    values = _getall(items, key)
    if v < (1, 24) and len(values) > 1:
        raise exc.BadRequest(f"Multiple {key} parameters are not supported")
    required: list[set[str]] = []
    forbidden: set[str] = set()
    for value in values:
        r, f = member_of_one(value)
        if r:
            required.append(r)
        if f:
            if v < (1, 32):
                raise exc.BadRequest(f"Forbidden {key} parameters are not supported in the specified "
                                     "microversion")
            forbidden |= f
    return required, forbidden


def in_tree(value: str) -> str:
    ret = value.strip()
    if not is_uuid(ret):
        raise exc.BadRequest("Invalid query string parameters: Expected 'in_tree' parameter to be a format "
                             f"of uuid. Got: {value}")
    return ret


def _candidate_schema(v: tuple[int, int]) -> dict[str, Any]:
    props: dict[str, Any] = {"resources": {"type": "string"}}
    patterns: dict[str, Any] = {}
    if v >= (1, 16):
        props["limit"] = {"type": "string", "pattern": "^[1-9][0-9]*$"}
    if v >= (1, 17):
        props["required"] = {"type": "string"}
    if v >= (1, 21):
        props["member_of"] = {"type": "string"}
    if v >= (1, 25):
        props["group_policy"] = {"type": "string", "enum": ["none", "isolate"]}
        suffix = SUFFIX_1_33 if v >= (1, 33) else SUFFIX
        for prefix in ("resources", "required", "member_of"):
            patterns[f"^{prefix}{suffix}$"] = {"type": "string"}
        if v >= (1, 31):
            patterns[f"^in_tree{suffix}$"] = {"type": "string"}
    if v >= (1, 31):
        props["in_tree"] = {"type": "string"}
    if v >= (1, 35):
        props["root_required"] = {"type": "string"}
    if v >= (1, 36):
        props["same_subtree"] = {"type": "string"}
    return {"type": "object", "properties": props, "patternProperties": patterns,
            "additionalProperties": False}


def candidate_request(req: Request, randomize: bool) -> CandidateRequest:
    v = req.ctx.api_version
    items = _multi(req)
    validate_query(dict(items), _candidate_schema(v))
    key_re = KEY_1_33 if v >= (1, 33) else KEY
    groups: dict[str, RequestGroup] = {}
    for key, val in items:
        m = key_re.match(key)
        if not m:
            continue
        prefix, suffix = m.group(1), m.group(2) or ""
        g = groups.setdefault(suffix, RequestGroup(suffix=suffix))
        if prefix == "resources":
            g.resources = resources(val)
        elif prefix == "required":
            g.required, g.forbidden = required_params(items, key, v)
        elif prefix == "member_of":
            g.member_of, g.forbidden_aggs = member_of_params(items, key, v)
        else:
            g.in_tree = in_tree(val)
    out = CandidateRequest(groups=groups, randomize=randomize, nested_aware=v >= (1, 29))
    _request_wide(items, out)
    _check_groups(out, v)
    granular = [s for s in groups if s]
    if len(granular) > 1 and out.group_policy is None and v >= (1, 25):
        raise exc.BadRequest('The "group_policy" parameter is required when specifying more than one '
                             '"resources{N}" parameter.')
    return out


def _request_wide(items: list[tuple[str, str]], out: CandidateRequest) -> None:
    limit = _getall(items, "limit")
    if limit:
        out.limit = int(limit[0])
    policy = _getall(items, "group_policy")
    if policy:
        out.group_policy = policy[0]
    root = _getall(items, "root_required")
    if root:
        if len(root) > 1:
            raise exc.QueryDuplicateKey("Query parameter 'root_required' may be specified only once.")
        req, forb = traits(root[0], allow_forbidden=True, allow_any=False)
        out.root_required = {t for s in req for t in s}
        out.root_forbidden = forb
        conflicts = out.root_required & forb
        if conflicts:
            raise exc.QueryBadValue("Conflicting required and forbidden traits found in root_required: "
                                    + ", ".join(sorted(conflicts)))
    for val in _getall(items, "same_subtree"):
        suffixes = {s.strip() for s in val.split(",")}
        if "" in suffixes:
            raise exc.QueryBadValue("Empty string (unsuffixed group) can not be specified in `same_subtree` ")
        out.same_subtrees.append(suffixes)


def _check_groups(out: CandidateRequest, v: tuple[int, int]) -> None:
    groups = out.groups
    if v >= (1, 36):
        resourceless = {s for s, g in groups.items() if not g.resources}
        if len(resourceless) == len(groups):
            raise exc.QueryMissingValue("There must be at least one resources or resources[$S] parameter.")
        subtree = set().union(*out.same_subtrees) if out.same_subtrees else set()
        bad = [s for s in sorted(resourceless) if s not in subtree]
        if bad:
            raise exc.QueryBadValue("Resourceless suffixed group request should be specified in "
                                    f"`same_subtree` query param: bad group(s) - {bad}.")
        bad = [s for s in sorted(subtree) if s not in groups]
        if bad:
            raise exc.QueryBadValue(f"Real suffixes should be specified in `same_subtree`: {bad} not "
                                    f"found in {list(groups)}.")
    else:
        orphans = [f"required{s}" for s, g in groups.items() if g.required and not g.resources]
        if orphans:
            raise exc.BadRequest("All traits parameters must be associated with resources.  Found the "
                                 f"following orphaned traits keys: {', '.join(orphans)}")
        orphans = [f"member_of{s}" for s, g in groups.items()
                   if not g.resources and (g.member_of or g.forbidden_aggs)]
        if orphans:
            raise exc.BadRequest("All member_of parameters must be associated with resources. Found the "
                                 f"following orphaned member_of keys: {', '.join(orphans)}")
        if not all(g.resources for g in groups.values()):
            raise exc.BadRequest("All request groups must specify resources.")
        if not groups:
            raise exc.BadRequest("At least one request group (`resources` or `resources{$S}`) is required.")
    if v >= (1, 22):
        conflicts = []
        for s, g in groups.items():
            for any_of in g.required:
                if all(t in g.forbidden for t in any_of):
                    conflicts.append(f"required{s}: ({', '.join(sorted(any_of))})")
        if conflicts:
            raise exc.BadRequest("Conflicting required and forbidden traits found in the following traits "
                                 f"keys: {', '.join(sorted(conflicts))}")


def _provider_schema(v: tuple[int, int]) -> dict[str, Any]:
    props: dict[str, Any] = {"name": {"type": "string"}, "uuid": {"type": "string", "format": "uuid"}}
    if v >= (1, 3):
        props["member_of"] = {"type": "string"}
    if v >= (1, 4):
        props["resources"] = {"type": "string"}
    if v >= (1, 14):
        props["in_tree"] = {"type": "string", "format": "uuid"}
    if v >= (1, 18):
        props["required"] = {"type": "string"}
    return {"type": "object", "properties": props, "additionalProperties": False}


def provider_filters(req: Request) -> dict[str, Any]:
    v = req.ctx.api_version
    items = _multi(req)
    validate_query(dict(items), _provider_schema(v))
    params = dict(items)
    out: dict[str, Any] = {"name": params.get("name"), "uuid": params.get("uuid")}
    if "member_of" in params:
        out["member_of"], out["forbidden_aggs"] = member_of_params(items, "member_of", v)
    if "resources" in params:
        out["resources"] = resources(params["resources"])
    if "in_tree" in params:
        out["in_tree"] = params["in_tree"]
    if "required" in params:
        out["required"], out["forbidden"] = required_params(items, "required", v)
    return out
