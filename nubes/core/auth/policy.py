"""The policy engine: evaluates the oslo.policy rule language, so operators' policy files keep working.

Each service declares its rules as ``RuleDefault`` constants in ``<service>/policies.py``;
an operator file (YAML or JSON, ``name: rule``) replaces individual rules.  Every rule is
parsed once per load into a tree of closures; a request only calls them.

Syntax (see docs/policy.md): ``@`` (allow), ``!`` (deny), ``role:<name>``,
``rule:<name>``, generic ``<creds key or literal>:<literal or %(target key)s>``, joined
with ``not`` > ``and`` > ``or`` and parentheses.  ``""`` and ``[]`` allow everyone; the
legacy list-of-lists form is accepted.  ``http:``/``https:`` checks are refused at load.

A rule that refers to an undefined rule, or that is part of (or depends on) a reference
cycle, is logged when the policy loads and denies every request: it fails closed,
whatever order its branches would have been evaluated in.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from nubes.core.exceptions import PolicyNotAuthorized

LOG = logging.getLogger(__name__)

Check = Callable[[Mapping[str, Any], Mapping[str, Any]], bool]   # (target, creds) -> allowed

_MISSING: Any = object()
_KEYWORDS = frozenset({"and", "or", "not"})
_SUBST = re.compile(r"%\(([^()]*)\)(.?)")
_NUMBER = re.compile(r"-?\d+(\.\d+)?")
_SEQUENCES = (list, tuple, set, frozenset)
_SUBST_KEY = re.compile(r"%\(([^()]*)\)s")
_RULE_REF = re.compile(r"(?:^|[\s(])rule:([^\s()]+)")
_DEFAULTS_SOURCE = "policy defaults"


@dataclass(frozen=True)
class RuleDefault:
    name: str
    check_str: str
    description: str = ""
    scope_types: tuple[str, ...] = ()   # informational ("system", "domain", "project")


class PolicyError(ValueError):
    """The policy could not be loaded (unreadable or malformed file)."""


class PolicySyntaxError(PolicyError):
    """A rule's text is not valid policy language; names the file and the rule."""

    def __init__(self, source: str, rule: str, text: str, detail: str) -> None:
        super().__init__(f"{source}: policy rule {rule!r}: {detail} (in {text!r})")
        self.source, self.rule, self.text, self.detail = source, rule, text, detail


class _Problem(ValueError):
    """A syntax problem inside one rule; turned into PolicySyntaxError with its name."""


# ---------------------------------------------------------------- evaluation helpers

def _always(target: Mapping[str, Any], creds: Mapping[str, Any]) -> bool:
    return True


def _never(target: Mapping[str, Any], creds: Mapping[str, Any]) -> bool:
    return False


def _lookup(data: Any, key: str, parts: tuple[str, ...]) -> Any:
    """``data[key]``, else walk ``parts`` (the dotted key) through nested mappings."""
    try:
        return data[key]
    except (KeyError, TypeError, IndexError):
        pass
    if len(parts) == 1:
        return _MISSING
    cur = data
    for part in parts:
        try:
            cur = cur[part]
        except (KeyError, TypeError, IndexError):
            return _MISSING
    return cur


def target_value(target: Mapping[str, Any], key: str) -> Any:
    """What a ``%(key)s`` substitution reads from ``target`` (dotted keys walk nested mappings);
    a marker object when it is absent."""
    return _lookup(target, key, tuple(key.split(".")))


def _same(a: Any, b: Any) -> bool:
    if a is None or b is None:           # a missing value never matches, not even another None
        return False
    if isinstance(a, bool) or isinstance(b, bool):
        return str(a).lower() == str(b).lower()
    return a == b or str(a) == str(b)


def _matches(have: Any, want: Any) -> bool:
    if isinstance(have, _SEQUENCES):
        return any(_same(h, want) for h in have)
    if isinstance(want, _SEQUENCES):
        return any(_same(have, w) for w in want)
    return _same(have, want)


# ---------------------------------------------------------------- values inside a check

Getter = Callable[[Mapping[str, Any]], Any]


def _literal(text: str) -> Any:
    """The value of a literal (quoted string, True, False, number), or _MISSING."""
    if len(text) >= 2 and text[0] in "'\"" and text[-1] == text[0]:
        return text[1:-1]
    if text in ("True", "False"):
        return text == "True"
    if _NUMBER.fullmatch(text):
        return float(text) if "." in text else int(text)
    return _MISSING


def _key_getter(key: str) -> Getter:
    if not key or any(not p for p in key.split(".")):
        raise _Problem(f"bad key {key!r}")
    parts = tuple(key.split("."))
    return lambda data: _lookup(data, key, parts)


def _template_getter(text: str) -> Getter:
    """``%(key)s`` (the raw target value) or text with substitutions (a string)."""
    pieces: list[str | Getter] = []
    pos = 0
    for m in _SUBST.finditer(text):
        if m.group(2) != "s":
            raise _Problem(f"only %(name)s substitutions are supported, not {m.group(0)!r}")
        pieces += [text[pos:m.start()], _key_getter(m.group(1))]
        pos = m.end()
    pieces.append(text[pos:])
    if "%(" in text[pos:]:
        raise _Problem("unterminated %(...)s substitution")
    pieces = [p for p in pieces if p != ""]
    if len(pieces) == 1 and callable(pieces[0]):
        return pieces[0]

    def render(target: Mapping[str, Any]) -> Any:
        out = []
        for piece in pieces:
            if callable(piece):
                value = piece(target)
                if value is _MISSING or value is None:
                    return _MISSING
                piece = str(value)
            out.append(piece)
        return "".join(out)
    return render


def _right_getter(text: str) -> Getter:
    """The right side of a check: a substitution from the target, or a constant."""
    if "%(" in text and _literal(text) is _MISSING:
        return _template_getter(text)
    value = _literal(text)
    value = text if value is _MISSING else value
    return lambda target: value


def _left_getter(text: str) -> Getter:
    """The left side of a generic check: a literal, or a (dotted) key into the creds."""
    value = _literal(text)
    if value is not _MISSING:
        return lambda creds: value
    if "%(" in text:
        raise _Problem("substitutions belong on the right side of ':'")
    return _key_getter(text)


# ---------------------------------------------------------------- checks

def _split_check(token: str) -> tuple[str, str]:
    if token[0] in "'\"":
        end = token.find(token[0], 1)
        idx = end + 1
    else:
        idx = token.find(":")
    if idx <= 0 or idx >= len(token) - 1 or token[idx] != ":":
        raise _Problem(f"{token!r} is not a check (expected kind:value, '@' or '!')")
    return token[:idx], token[idx + 1:]


def _role_check(match: str) -> Check:
    getter = _right_getter(match)

    def check(target: Mapping[str, Any], creds: Mapping[str, Any]) -> bool:
        want = getter(target)
        if want is _MISSING or want is None:
            return False
        want = str(want).lower()
        return any(isinstance(r, str) and r.lower() == want for r in creds.get("roles") or ())
    return check


def _generic_check(kind: str, match: str) -> Check:
    left, right = _left_getter(kind), _right_getter(match)

    def check(target: Mapping[str, Any], creds: Mapping[str, Any]) -> bool:
        want = right(target)
        if want is _MISSING:
            return False
        have = left(creds)
        return have is not _MISSING and _matches(have, want)
    return check


def _any_of(parts: list[Check]) -> Check:
    if len(parts) == 1:
        return parts[0]
    checks = tuple(parts)

    def check(target: Mapping[str, Any], creds: Mapping[str, Any]) -> bool:
        for part in checks:
            if part(target, creds):
                return True
        return False
    return check


def _all_of(parts: list[Check]) -> Check:
    if len(parts) == 1:
        return parts[0]
    checks = tuple(parts)

    def check(target: Mapping[str, Any], creds: Mapping[str, Any]) -> bool:
        for part in checks:
            if not part(target, creds):
                return False
        return True
    return check


def _negate(inner: Check) -> Check:
    return lambda target, creds: not inner(target, creds)


# ---------------------------------------------------------------- parsing

def _tokenize(text: str) -> list[str]:
    """Split into '(' , ')' and words; quotes and %(...)s stay inside their word."""
    tokens, i, n = [], 0, len(text)
    while i < n:
        if text[i].isspace():
            i += 1
        elif text[i] in "()":
            tokens.append(text[i])
            i += 1
        else:
            start = i
            while i < n and not text[i].isspace() and text[i] not in "()":
                if text[i] in "'\"":
                    end = text.find(text[i], i + 1)
                    if end < 0:
                        raise _Problem("unterminated quoted string")
                    i = end + 1
                elif text.startswith("%(", i):
                    end = text.find(")", i + 2)
                    i = n if end < 0 else end + 1
                else:
                    i += 1
            tokens.append(text[start:i])
    return tokens


class _Parser:
    """Recursive descent: or_expr := and_expr ('or' and_expr)*, and so on down to checks."""

    def __init__(self, text: str, table: dict[str, Check],
                 kinds: Mapping[str, Callable[[str], Check]] | None = None) -> None:
        self.tokens = _tokenize(text)
        self.pos = 0
        self.table = table
        self.kinds = kinds or {}
        self.refs: set[str] = set()

    def parse(self) -> Check:
        if not self.tokens:
            return _always
        node = self._or()
        if self.pos < len(self.tokens):
            raise _Problem(f"unexpected {self.tokens[self.pos]!r}")
        return node

    def _accept(self, word: str) -> bool:
        if self.pos < len(self.tokens) and self.tokens[self.pos].lower() == word:
            self.pos += 1
            return True
        return False

    def _or(self) -> Check:
        parts = [self._and()]
        while self._accept("or"):
            parts.append(self._and())
        return _any_of(parts)

    def _and(self) -> Check:
        parts = [self._not()]
        while self._accept("and"):
            parts.append(self._not())
        return _all_of(parts)

    def _not(self) -> Check:
        if self._accept("not"):
            return _negate(self._not())
        return self._atom()

    def _atom(self) -> Check:
        if self.pos >= len(self.tokens):
            raise _Problem("expected a check, found the end of the rule")
        token = self.tokens[self.pos]
        self.pos += 1
        if token == "(":
            node = self._or()
            if not self._accept(")"):
                raise _Problem("missing ')'")
            return node
        if token == ")" or token.lower() in _KEYWORDS:
            raise _Problem(f"expected a check, found {token!r}")
        return self._check(token)

    def _check(self, token: str) -> Check:
        if token == "@":
            return _always
        if token == "!":
            return _never
        kind, match = _split_check(token)
        if kind in ("http", "https"):
            raise _Problem(f"{kind}: checks are not supported by nubes")
        if kind == "role":
            return _role_check(match)
        if kind in self.kinds:
            try:
                return self.kinds[kind](match)
            except ValueError as exc:
                raise _Problem(str(exc)) from None
        if kind == "rule":
            if "%(" in match:
                raise _Problem("rule: takes a rule name, not a substitution")
            self.refs.add(match)
            table = self.table
            return lambda target, creds: table[match](target, creds)
        return _generic_check(kind, match)


def _rule_text(value: Any) -> str:
    """The rule as policy-language text; list-of-lists rules are rewritten (or of ands)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if not isinstance(value, list):
        raise _Problem(f"a rule must be a string or a list of lists, not {type(value).__name__}")
    if not value:
        return ""
    groups = []
    for inner in value:
        inner = [inner] if isinstance(inner, str) else inner
        if not isinstance(inner, list) or not all(isinstance(c, str) and c.strip() for c in inner):
            raise _Problem("each entry of a list rule must be a list of check strings")
        if inner:
            groups.append(" and ".join(f"({c})" if " " in c.strip() else c.strip() for c in inner))
    if not groups:
        return "!"
    return groups[0] if len(groups) == 1 else " or ".join(f"({g})" if " and " in g else g for g in groups)


def _compile(name: str, value: Any, table: dict[str, Check], source: str,
             kinds: Mapping[str, Callable[[str], Check]] | None = None) -> tuple[Check, set[str], str]:
    text = value if isinstance(value, str) else repr(value)
    try:
        text = _rule_text(value)
        parser = _Parser(text, table, kinds)
        return parser.parse(), parser.refs, text
    except _Problem as exc:
        raise PolicySyntaxError(source, name, text, str(exc)) from None


def _broken_rules(refs: dict[str, set[str]]) -> dict[str, str]:
    """Rules that reference an undefined rule or a cycle (directly or not), with the reason."""
    reasons: dict[str, str] = {}
    done: set[str] = set()

    def visit(name: str, path: list[str]) -> bool:
        if name in path:
            cycle = path[path.index(name):] + [name]
            for member in cycle[:-1]:
                reasons.setdefault(member, "is part of the reference cycle " + " -> ".join(cycle))
            return True
        if name in done:
            return name in reasons
        path.append(name)
        for ref in sorted(refs[name]):
            if ref not in refs:
                reasons.setdefault(name, f"refers to the undefined rule {ref!r}")
            elif visit(ref, path):
                reasons.setdefault(name, f"depends on the broken rule {ref!r}")
        path.pop()
        done.add(name)
        return name in reasons

    for rule_name in refs:
        visit(rule_name, [])
    return reasons


# ---------------------------------------------------------------- the enforcer

def _read_file(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"{path}: cannot read policy file: {exc}") from None
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise PolicyError(f"{path}: not a valid policy file: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict) or not all(isinstance(k, str) for k in data):
        raise PolicyError(f"{path}: a policy file must map rule names to rules")
    return data


class Enforcer:
    """Evaluates a service's rules: defaults from code, overridden rule by rule by a file."""

    def __init__(self, defaults: Iterable[RuleDefault], override_file: str | Path | None = None,
                 *, check_interval: float = 1.0,
                 kinds: Mapping[str, Callable[[str], Check]] | None = None) -> None:
        # A service's own check kinds (Neutron's "field:"): kind -> factory(match) -> Check;
        # a factory raises ValueError for a match it cannot parse.
        self._kinds = dict(kinds or {})
        self._defaults: dict[str, RuleDefault] = {}
        for default in defaults:
            if default.name in self._defaults:
                raise PolicyError(f"{_DEFAULTS_SOURCE}: rule {default.name!r} is defined twice")
            self._defaults[default.name] = default
        self._path = Path(override_file) if override_file else None
        self._interval = check_interval
        self._next_check = 0.0
        self._stamp: tuple[int, int, int] | None = None
        self._warned: set[str] = set()
        self._table: dict[str, Check] = {}
        self._texts: dict[str, str] = {}
        self._target_keys: dict[str, frozenset[str] | None] = {}
        self._overrides = 0
        self._load(self._stat())      # raises on a bad file: fail at startup, not per request
        self._next_check = time.monotonic() + self._interval

    @property
    def defaults(self) -> tuple[RuleDefault, ...]:
        return tuple(self._defaults.values())

    def enforce(self, rule: str, target: Mapping[str, Any] | None, creds: Mapping[str, Any]) -> bool:
        self._maybe_reload()
        check = self._table.get(rule)
        if check is None:
            if rule not in self._warned:
                self._warned.add(rule)
                LOG.warning("Policy rule %r is not defined; denying", rule)
            return False
        return check(target or {}, creds)

    def authorize(self, rule: str, target: Mapping[str, Any] | None, creds: Mapping[str, Any]) -> None:
        if not self.enforce(rule, target, creds):
            LOG.debug("Policy %r denied for user %s", rule, creds.get("user_id"))
            raise PolicyNotAuthorized(rule)

    def target_keys(self, rule: str) -> frozenset[str] | None:
        """The target keys ``rule`` can look at (through ``%(key)s``, directly or via ``rule:``),
        or None when that cannot be known (a service's own check kind may read any of them).

        A caller evaluating one rule against many targets (a list of resources) may reuse a
        decision for targets that agree on these keys.
        """
        self._maybe_reload()
        memo = self._target_keys
        if rule not in memo:
            memo[rule] = self._keys_of(rule, set())
        return memo[rule]

    def _keys_of(self, rule: str, seen: set[str]) -> frozenset[str] | None:
        text = self._texts.get(rule)
        if text is None or rule in seen:
            return frozenset()
        seen.add(rule)
        if any(re.search(rf"(^|[\s(]){re.escape(kind)}:", text) for kind in self._kinds):
            return None
        keys = set(_SUBST_KEY.findall(text))
        for ref in _RULE_REF.findall(text):
            sub = self._keys_of(ref, seen)
            if sub is None:
                return None
            keys |= sub
        return frozenset(keys)

    def rules(self) -> dict[str, str]:
        """The effective rules (defaults with the file's overrides) as policy-language text."""
        self._maybe_reload()
        return dict(self._texts)

    def reload(self) -> None:
        """Re-read the override file now if it changed; a bad file keeps the current rules."""
        self._next_check = 0.0
        self._maybe_reload()

    def _stat(self) -> tuple[int, int, int] | None:
        if self._path is None:
            return None
        try:
            st = os.stat(self._path)
        except FileNotFoundError:
            return None
        return (st.st_mtime_ns, st.st_size, st.st_ino)

    def _maybe_reload(self) -> None:
        now = time.monotonic()
        if self._path is None or now < self._next_check:
            return
        self._next_check = now + self._interval
        try:
            stamp = self._stat()
            if stamp != self._stamp:
                self._load(stamp)
        except PolicyError as exc:
            LOG.error("Keeping the previous policy: %s", exc)
        except OSError as exc:
            LOG.error("Keeping the previous policy: cannot stat %s: %s", self._path, exc)

    def _load(self, stamp: tuple[int, int, int] | None) -> None:
        self._stamp = stamp           # remembered even if loading fails, so a bad file is logged once
        overrides = _read_file(self._path) if self._path is not None and stamp is not None else {}
        source = str(self._path)
        entries = [(n, d.check_str, _DEFAULTS_SOURCE) for n, d in self._defaults.items()]
        entries += [(n, v, source) for n, v in overrides.items()]
        table: dict[str, Check] = {}
        texts: dict[str, str] = {}
        refs: dict[str, set[str]] = {}
        for name, value, src in entries:
            if value is None:
                LOG.warning("%s: policy rule %r is empty and allows everyone", src, name)
            table[name], refs[name], texts[name] = _compile(name, value, table, src, self._kinds)
        for name, reason in _broken_rules(refs).items():
            LOG.error("Policy rule %r denies every request: it %s", name, reason)
            table[name] = _never
        self._table, self._texts = table, texts
        self._target_keys = {}
        if overrides or self._overrides:
            LOG.info("Loaded %d policy overrides from %s", len(overrides), self._path)
        self._overrides = len(overrides)
