"""The oslo.policy rule language: parsing a rule's text once into a tree of closures.

Syntax (see docs/policy.md): ``@`` (allow), ``!`` (deny), ``role:<name>``,
``rule:<name>``, generic ``<creds key or literal>:<literal or %(target key)s>``, joined
with ``not`` > ``and`` > ``or`` and parentheses.  ``""`` and ``[]`` allow everyone; the
legacy list-of-lists form is accepted.  ``http:``/``https:`` checks are refused at load.
``nubes.core.auth.policy`` (the enforcer) builds its rule table with ``compile_rule``.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

Check = Callable[[Mapping[str, Any], Mapping[str, Any]], bool]   # (target, creds) -> allowed

_MISSING: Any = object()
_KEYWORDS = frozenset({"and", "or", "not"})
_SUBST = re.compile(r"%\(([^()]*)\)(.?)")
_NUMBER = re.compile(r"-?\d+(\.\d+)?")
_SEQUENCES = (list, tuple, set, frozenset)
SUBST_KEY = re.compile(r"%\(([^()]*)\)s")
RULE_REF = re.compile(r"(?:^|[\s(])rule:([^\s()]+)")


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


def never(target: Mapping[str, Any], creds: Mapping[str, Any]) -> bool:
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
        roles = creds.get("roles") or ()
        if isinstance(roles, frozenset):      # a request's credentials: lower-cased once
            return want in roles
        return any(isinstance(r, str) and r.lower() == want for r in roles)
    return check


def _absent_check(getter: Getter, side: str) -> Check:
    """``key:None`` (a credential) or ``None:%(key)s`` (a target value): the value is absent or null.

    Upstream rules use it to tell a domain-scoped token (``not domain_id:None``) or a global role
    (``None:%(target.role.domain_id)s``); it is the one check a missing value satisfies."""
    def check(target: Mapping[str, Any], creds: Mapping[str, Any]) -> bool:
        value = getter(creds if side == "creds" else target)
        return value is _MISSING or value is None
    return check


def _generic_check(kind: str, match: str) -> Check:
    if match == "None":
        return _absent_check(_left_getter(kind), "creds")
    if kind == "None":
        if not match.startswith("%(") or not match.endswith(")s"):
            raise _Problem("None: takes a %(target key)s on its right side")
        return _absent_check(_template_getter(match), "target")
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
            return never
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


def compile_rule(name: str, value: Any, table: dict[str, Check], source: str,
             kinds: Mapping[str, Callable[[str], Check]] | None = None) -> tuple[Check, set[str], str]:
    text = value if isinstance(value, str) else repr(value)
    try:
        text = _rule_text(value)
        parser = _Parser(text, table, kinds)
        return parser.parse(), parser.refs, text
    except _Problem as exc:
        raise PolicySyntaxError(source, name, text, str(exc)) from None


def broken_rules(refs: dict[str, set[str]]) -> dict[str, str]:
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
