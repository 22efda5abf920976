"""Parameter types, constraints, defaults, custom constraints and groups, as Heat checks them."""

from __future__ import annotations

import pytest

from nubes.orchestration import exceptions as exc
from nubes.orchestration.template import parameters as P
from nubes.orchestration.template.versions import CFN_VERSIONS, HOT_VERSIONS

NEWTON, PIKE = HOT_VERSIONS["newton"], HOT_VERSIONS["pike"]


def hot(name, schema, version=PIKE):
    return P.hot_parameter(name, schema, version)


def test_types_coerce_user_strings():
    assert hot("n", {"type": "number"}).value_of("2") == 2
    assert hot("n", {"type": "number"}).value_of("0.5") == 0.5
    assert hot("b", {"type": "boolean"}).value_of("on") is True
    assert hot("b", {"type": "boolean"}).value_of("No") is False
    assert hot("j", {"type": "json"}).value_of('{"a": [1]}') == {"a": [1]}
    assert hot("l", {"type": "comma_delimited_list"}).value_of("one, two") == ["one", " two"]
    assert hot("s", {"type": "string"}).value_of(5) == "5"


@pytest.mark.parametrize("schema,value,message", [
    ({"type": "number"}, "abc", "could not convert string to float: 'abc'"),
    ({"type": "boolean"}, "maybe", "Unrecognized value 'maybe', acceptable values are: "),
    ({"type": "json"}, "{nope", "Value must be valid JSON: "),
])
def test_bad_values(schema, value, message):
    with pytest.raises(exc.StackValidationFailed) as e:
        hot("p", schema).value_of(value)
    assert e.value.message.startswith(f"Parameter 'p' is invalid: {message}")


@pytest.mark.parametrize("constraint,value,message", [
    ({"length": {"min": 4}}, "abc", "length (3) is out of range (min: 4, max: None)"),
    ({"length": {"max": 2}}, "abc", "length (3) is out of range (min: None, max: 2)"),
    ({"allowed_values": ["a", "b"]}, "c", '"c" is not an allowed value [a, b]'),
    ({"allowed_pattern": "[a-z]+"}, "ab1", '"ab1" does not match pattern "[a-z]+"'),
])
def test_string_constraints(constraint, value, message):
    p = hot("name", {"type": "string", "constraints": [constraint]})
    with pytest.raises(exc.StackValidationFailed) as e:
        p.value_of(value)
    assert e.value.message == f"Parameter 'name' is invalid: {message}"


def test_number_constraints_and_description_overrides():
    p = hot("n", {"type": "number", "constraints": [
        {"range": {"min": 1, "max": 10}}, {"modulo": {"step": 2, "offset": 1},
                                          "description": "odd numbers only"}]})
    assert p.value_of("3") == 3
    with pytest.raises(exc.StackValidationFailed, match=r"11 is out of range \(min: 1, max: 10\)"):
        p.value_of("11")
    with pytest.raises(exc.StackValidationFailed) as e:
        p.value_of("4")
    assert e.value.message == "Parameter 'n' is invalid: odd numbers only"
    p = hot("n", {"type": "number", "constraints": [{"modulo": {"step": 2, "offset": 1}}]})
    with pytest.raises(exc.StackValidationFailed,
                       match="Parameter 'n' is invalid: 4 is not a multiple of 2 with an offset of 1"):
        p.value_of(4)


@pytest.mark.parametrize("constraint,message", [
    ({"range": {}}, "A range constraint must have a min value and/or a max value specified."),
    ({"range": {"min": "x"}}, "min/max must be numeric"),
    ({"modulo": {"step": 2}}, "A modulo constraint must have a step value and an offset value"),
    ({"modulo": {"step": 0, "offset": 0}}, "step cannot be 0."),
    ({"modulo": {"step": 2, "offset": 3}}, "offset must be smaller (by absolute value) than step."),
    ({"allowed_values": "a"}, "AllowedValues must be a list"),
])
def test_constraint_definitions(constraint, message):
    with pytest.raises(exc.InvalidSchemaError) as e:
        hot("n", {"type": "number", "constraints": [constraint]})
    assert e.value.message.startswith(f"Parameter 'n' is invalid: {message}")


def test_modulo_needs_ocata():
    with pytest.raises(exc.InvalidSchemaError):
        hot("n", {"type": "number", "constraints": [{"modulo": {"step": 2, "offset": 0}}]},
            NEWTON)


def test_schema_errors():
    with pytest.raises(exc.InvalidSchemaError, match=r"Invalid key 'defualt' for parameter \(x\)"):
        hot("x", {"type": "string", "defualt": 1})
    with pytest.raises(exc.InvalidSchemaError, match="Missing parameter type for parameter: x"):
        hot("x", {})
    with pytest.raises(exc.InvalidSchemaError, match=r"Invalid type \(int\)"):
        hot("x", {"type": "int"})
    with pytest.raises(exc.InvalidSchemaError, match="Range constraint invalid for String"):
        hot("x", {"type": "string", "constraints": [{"range": {"min": 1}}]})


def test_default_must_pass_constraints():
    with pytest.raises(exc.InvalidSchemaError) as e:
        hot("x", {"type": "string", "default": "toolong",
                  "constraints": [{"length": {"max": 3}}]})
    assert e.value.message == ("Parameter 'x' is invalid: Invalid default toolong (length (7) "
                               "is out of range (min: None, max: 3))")


def test_custom_constraint_hook(monkeypatch):
    monkeypatch.setitem(P.CUSTOM_CONSTRAINTS, "nova.flavor",
                        lambda v: None if v == "m1.small" else "Flavor not found.")
    p = hot("f", {"type": "string", "constraints": [{"custom_constraint": "nova.flavor"}]})
    assert p.value_of("m1.small") == "m1.small"
    with pytest.raises(exc.StackValidationFailed) as e:
        p.value_of("m1.huge")
    assert e.value.message == ("Parameter 'f' is invalid: Error validating value 'm1.huge': "
                               "Flavor not found.")


def test_values_defaults_missing_and_unknown():
    params = {"a": hot("a", {"type": "string", "default": "x"}),
              "b": hot("b", {"type": "number"}),
              "c": hot("c", {"type": "string", "hidden": True, "default": "s"})}
    assert params["c"].hidden
    assert P.resolve_values(params, {"b": "1"}, {}) == {"a": "x", "b": 1, "c": "s"}
    assert P.resolve_values(params, {"b": "1"}, {"a": "env"})["a"] == "env"
    with pytest.raises(exc.UserParameterMissing, match=r"The Parameter \(b\) was not provided."):
        P.resolve_values(params, {}, {})
    with pytest.raises(exc.UnknownUserParameter,
                       match=r"The Parameter \(z\) was not defined in template."):
        P.resolve_values(params, {"b": 1, "z": 2}, {})


def test_cfn_parameters():
    p = P.cfn_parameter("Size", {"Type": "Number", "MinValue": "1", "MaxValue": "5",
                                 "ConstraintDescription": "1 to 5 GB"})
    assert p.value_of("3") == 3
    with pytest.raises(exc.StackValidationFailed, match="Parameter 'Size' is invalid: 1 to 5 GB"):
        p.value_of("9")
    s = P.cfn_parameter("Key", {"Type": "String", "MinLength": 2, "AllowedPattern": "[a-z]*",
                                "NoEcho": "true"})
    assert s.hidden
    with pytest.raises(exc.StackValidationFailed, match=r"length \(1\) is out of range"):
        s.value_of("a")
    lst = P.cfn_parameter("L", {"Type": "CommaDelimitedList", "AllowedValues": ["a", "b"]})
    assert lst.value_of("a,b") == ["a", "b"]
    with pytest.raises(exc.StackValidationFailed) as e:
        lst.value_of("a,c")
    assert e.value.message == ("Parameter 'L' is invalid: \"['a', 'c']\" is not an allowed "
                               "value [a, b]")
    assert P.cfn_parameter("B", {"Type": "Boolean"}).value_of("true") is True
    assert P.cfn_parameter("J", {"Type": "Json"}).value_of('{"k": 1}') == {"k": 1}


def test_pseudo_parameters():
    hot_p = P.pseudo_parameters(PIKE, "s", "id", "proj", "RegionOne")
    assert hot_p == {"OS::stack_name": "s", "OS::stack_id": "id", "OS::project_id": "proj"}
    cfn = P.pseudo_parameters(CFN_VERSIONS["AWSTemplateFormatVersion"]["2010-09-09"],
                              "s", "id", "proj", "RegionOne")
    assert cfn["AWS::StackName"] == "s" and cfn["AWS::Region"] == "RegionOne"
    assert cfn["AWS::StackId"] == "id"


def test_parameter_groups():
    params = {"a": hot("a", {"type": "string"}), "b": hot("b", {"type": "string"})}
    P.validate_groups([{"label": "g", "parameters": ["a", "b"]}], params)
    with pytest.raises(exc.StackValidationFailed) as e:
        P.validate_groups([{"label": "g", "parameters": ["a", "zz"]}], params)
    assert e.value.message == ("Parameter Groups error: parameter_groups.g.parameters: The "
                               "grouped parameter zz does not reference a valid parameter.")
    with pytest.raises(exc.StackValidationFailed, match="must be assigned to one parameter group"):
        P.validate_groups([{"parameters": ["a"]}, {"parameters": ["a"]}], params)
    with pytest.raises(exc.StackValidationFailed, match="Parameters must be provided for each"):
        P.validate_groups([{"label": "g"}], params)


def test_unregistered_custom_constraint_is_refused(monkeypatch):
    monkeypatch.delitem(P.CUSTOM_CONSTRAINTS, "neutron.network", raising=False)
    p = hot("n", {"type": "string", "constraints": [{"custom_constraint": "neutron.network"}]})
    with pytest.raises(exc.StackValidationFailed) as e:
        p.value_of("net1")
    assert e.value.message == ("Parameter 'n' is invalid: \"net1\" does not validate "
                               "neutron.network (constraint not found)")
