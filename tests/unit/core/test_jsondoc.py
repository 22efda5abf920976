"""The one JSON reader: what it refuses (with a 400 each service renders) and what it keeps."""

from __future__ import annotations

import pytest
from sqlalchemy import literal, select

from nubes.core.api.http import safe_headers
from nubes.core.db.session import Database
from nubes.core.exceptions import BadRequest, ValueOutOfRange
from nubes.core.jsondoc import MAX_JSON_DEPTH, InvalidJSON, parse_json


@pytest.mark.parametrize("raw, why", [
    (b"[" * 50000 + b"]" * 50000, "nested more than"),
    (b'{"a":' * 15000 + b"1" + b"}" * 15000, "nested more than"),
    (b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1), "nested more than"),
    (b'{"x": NaN}', "NaN is not a number"),
    (b'[Infinity]', "Infinity is not a number"),
    (b'[-Infinity]', "-Infinity is not a number"),
    (b'{"x": 1e999}', "out of range"),
    (b'[18446744073709551616]', "out of range"),
    (b'[-9223372036854775809]', "out of range"),
    (b'[1' + b"0" * 5000 + b"]", "out of range"),
    (b'["\\ud800"]', "unpaired UTF-16 surrogate"),
    (b'{"\\udfff": 1}', "unpaired UTF-16 surrogate"),
    (b'"\\ud800"', "unpaired UTF-16 surrogate"),
    (b'{"name": "a\\u0000b"}', "NUL"),
    (b'{"a\\u0000": 1}', "NUL"),
    (b'\xff\xfe{', "codec"),
    (b'{"a": ', "Expecting"),
])
def test_refused(raw, why):
    with pytest.raises(InvalidJSON) as err:
        parse_json(raw)
    assert isinstance(err.value, BadRequest) and err.value.status == 400
    assert why in err.value.message


def test_syntax_errors_are_told_from_limits():
    with pytest.raises(InvalidJSON) as syntax:
        parse_json(b"{nope")
    with pytest.raises(InvalidJSON) as limit:
        parse_json(b"[NaN]")
    assert syntax.value.syntax and not limit.value.syntax
    assert syntax.value.message.startswith("Malformed JSON in the request body")


@pytest.mark.parametrize("raw, doc", [
    (b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH, None),
    (b"[9223372036854775807, -9223372036854775808]", [2**63 - 1, -(2**63)]),
    (b'[1.5e308, -0.0]', [1.5e308, -0.0]),
    (b'["\\ud83d\\udca5", "n\\u00e4me"]', ["\U0001f4a5", "n\u00e4me"]),
    ('{"x": 1}'.encode("utf-16"), {"x": 1}),
    (b'{"x": 1, "x": 2}', {"x": 2}),
    (b'"text"', "text"),
])
def test_kept(raw, doc):
    out = parse_json(raw)
    if doc is not None:
        assert out == doc


def test_safe_headers_percent_encode_what_http_cannot_carry():
    out = safe_headers({"Location": "http://h/v2.1/servers/s/tags/a\x00b c\u540d\xff"})
    assert out == {"Location": "http://h/v2.1/servers/s/tags/a%00b c%E5%90%8D%C3%BF"}
    assert safe_headers({"X-Subject-Token": "gAAAA-_="}) == {"X-Subject-Token": "gAAAA-_="}


async def test_a_value_the_database_cannot_bind_is_a_400(tmp_path):
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    try:
        with pytest.raises(ValueOutOfRange) as err:
            async with db.reader() as s:
                await s.execute(select(literal(2**64)))
        assert err.value.status == 400
        with pytest.raises(ValueOutOfRange):
            async with db.session() as s:
                await s.execute(select(literal(-(2**70))))
        async with db.reader() as s:       # the engine is still usable
            assert (await s.execute(select(literal(2**63 - 1)))).scalar() == 2**63 - 1
    finally:
        await db.close()
