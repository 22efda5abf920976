"""HOT and CFN intrinsic functions, as each template version enables them."""

from __future__ import annotations

import hashlib

import pytest

from nubes.orchestration import exceptions as exc
from nubes.orchestration.template import Template
from tests.unit.orchestration.resolver import TableResolver


def evaluate(snippet, version="wallaby", params=None, values=None, files=None, resolver=None,
             resources=None, conditions=None):
    tpl = {"heat_template_version": version, "parameters": params or {},
           "resources": resources or {}, "outputs": {"o": {"value": snippet}}}
    if conditions is not None:
        tpl["conditions"] = conditions
    stack = Template(tpl, files).validate(values or {}, stack_name="s", stack_id="sid",
                                          project_id="p")
    (out,) = stack.outputs(resolver or TableResolver())
    if "output_error" in out:
        raise exc.StackValidationFailed(out["output_error"])
    return out["output_value"]


def test_get_param_with_paths():
    params = {"j": {"type": "json", "default": {"a": {"b": [10, 20]}}},
              "l": {"type": "comma_delimited_list", "default": "x,y"}}
    assert evaluate({"get_param": ["j", "a", "b", 1]}, params=params) == 20
    assert evaluate({"get_param": ["l", "1"]}, params=params) == "y"
    assert evaluate({"get_param": ["j", "nope"]}, params=params) == ""
    assert evaluate({"get_param": "OS::stack_name"}) == "s"
    assert evaluate({"get_param": "OS::project_id"}) == "p"


def test_get_param_undefined_fails_validation():
    with pytest.raises(exc.UserParameterMissing, match=r"The Parameter \(nope\) was not provided"):
        evaluate({"get_param": "nope"})


def test_get_resource_and_get_attr_go_through_the_resolver():
    res = {"srv": {"type": "OS::Nova::Server"}}
    r = TableResolver({"srv": {"networks": {"private": ["10.0.0.5", "fd00::5"]}, "name": "vm"}})
    assert evaluate({"get_resource": "srv"}, resources=res, resolver=r) == "srv-id"
    assert evaluate({"get_attr": ["srv", "networks", "private", 0]}, resources=res,
                    resolver=r) == "10.0.0.5"
    assert r.asked[-1] == ("srv", "networks", ("private", 0))
    assert evaluate({"get_attr": ["srv"]}, resources=res, resolver=r)["name"] == "vm"
    with pytest.raises(exc.StackValidationFailed, match="get_attr"):
        evaluate({"get_attr": ["srv"]}, version="2015-04-30", resources=res, resolver=r)


def test_get_file():
    assert evaluate({"get_file": "a.sh"}, files={"a.sh": "#!/bin/sh"}) == "#!/bin/sh"
    with pytest.raises(exc.StackValidationFailed,
                       match='No content found in the "files" section for get_file path: b.sh'):
        evaluate({"get_file": "b.sh"})


def test_str_replace_and_variants():
    snippet = {"template": "http://$host:$port/$host_path", "params": {"$host": "h", "$port": 80,
                                                                      "$host_path": "p"}}
    assert evaluate({"str_replace": snippet}) == "http://h:80/p"
    assert evaluate({"str_replace": {"template": "v=$v", "params": {"$v": {"a": 1}}}}) \
        == 'v={"a": 1}'
    with pytest.raises(exc.StackValidationFailed, match="not found in the template: \\$x"):
        evaluate({"str_replace_strict": {"template": "a", "params": {"$x": "1"}}})
    assert evaluate({"str_replace_strict": {"template": "a$x", "params": {"$x": ""}}}) == "a"
    with pytest.raises(exc.StackValidationFailed, match="have empty values: \\$x"):
        evaluate({"str_replace_vstrict": {"template": "a$x", "params": {"$x": ""}}})


def test_list_join_and_split():
    assert evaluate({"list_join": [",", ["a", "b"], ["c"]]}) == "a,b,c"
    with pytest.raises(exc.StackValidationFailed):
        evaluate({"list_join": [",", ["a"], ["c"]]}, version="2015-04-30")
    assert evaluate({"str_split": [",", "a,b,c"]}) == ["a", "b", "c"]
    assert evaluate({"str_split": [",", "a,b,c", 1]}) == "b"


def test_repeat():
    got = evaluate({"repeat": {"for_each": {"%p%": [80, 443], "%c%": ["a", "b"]},
                               "template": {"port": "%p%", "cidr": "%c%"}}})
    assert len(got) == 4 and {"port": "443", "cidr": "b"} in got
    got = evaluate({"repeat": {"for_each": {"%p%": [80, 443], "%c%": ["a", "b"]},
                               "template": "%p%/%c%", "permutations": False}})
    assert got == ["80/a", "443/b"]
    with pytest.raises(exc.StackValidationFailed):
        evaluate({"repeat": {"for_each": {"%p%": [1]}, "template": "x", "permutations": False}},
                 version="ocata")


def test_digest_maps_and_lists():
    assert evaluate({"digest": ["sha256", "abc"]}) == hashlib.sha256(b"abc").hexdigest()
    assert evaluate({"map_merge": [{"a": 1, "b": 1}, {"b": 2}]}) == {"a": 1, "b": 2}
    assert evaluate({"map_replace": [{"k1": "v1", "k2": "v2"},
                                     {"keys": {"k1": "K1"}, "values": {"v2": "V2"}}]}) \
        == {"K1": "v1", "k2": "V2"}
    with pytest.raises(exc.StackValidationFailed, match="collides"):
        evaluate({"map_replace": [{"a": 1, "b": 2}, {"keys": {"a": "b"}}]})
    assert evaluate({"list_concat": [[1, 2], [2, 3]]}) == [1, 2, 2, 3]
    assert evaluate({"list_concat_unique": [[1, 2], [2, 3]]}) == [1, 2, 3]
    assert evaluate({"filter": [[None, 2], [1, None, 2, 3]]}) == [1, 3]
    assert evaluate({"contains": ["b", ["a", "b"]]}) is True


def test_make_url():
    assert evaluate({"make_url": {"scheme": "https", "host": "example.com", "port": 8080,
                                  "path": "a b", "query": {"x": "1"}, "fragment": "f"}}) \
        == "https://example.com:8080/a%20b?x=1#f"
    assert evaluate({"make_url": {"scheme": "http", "host": "fd00::1", "path": "/"}}) \
        == "http://[fd00::1]/"


def test_functions_from_other_versions_are_refused():
    with pytest.raises(exc.InvalidTemplateVersion) as e:
        evaluate({"Fn::Join": [",", ["a"]]}, version="2014-10-16")
    assert e.value.message == ("The template version is invalid: The function Fn::Join is not "
                               "supported in this version of HOT.")
    with pytest.raises(exc.InvalidTemplateVersion, match="function make_url is not supported"):
        evaluate({"make_url": {"host": "x"}}, version="ocata")
    assert evaluate({"Fn::Join": [",", ["a", "b"]]}, version="2013-05-23") == "a,b"
    assert evaluate({"Fn::Select": [1, ["a", "b"]]}, version="2015-04-30") == "b"


def test_yaql_is_refused_plainly():
    with pytest.raises(exc.StackValidationFailed, match='"yaql" is not supported by this cloud'):
        evaluate({"yaql": {"expression": "1", "data": {}}})


def test_conditions_and_if():
    params = {"env": {"type": "string", "default": "prod"},
              "n": {"type": "number", "default": 3}}
    conds = {"prod": {"equals": [{"get_param": "env"}, "prod"]},
             "dev": {"not": "prod"},
             "both": {"and": ["prod", {"equals": [{"get_param": "n"}, 3]}]},
             "either": {"or": ["dev", False]},
             "has": {"contains": ["prod", ["prod", "qa"]]}}
    assert evaluate({"if": ["prod", "big", "small"]}, params=params, conditions=conds) == "big"
    assert evaluate({"if": ["dev", "big", "small"]}, params=params, conditions=conds) == "small"
    assert evaluate([{"if": ["both", 1, 2]}, {"if": ["either", 1, 2]}, {"if": ["has", 1, 2]}],
                    params=params, conditions=conds) == [1, 2, 1]
    assert evaluate({"a": {"if": ["dev", 1]}, "b": 2}, params=params, conditions=conds) \
        == {"b": 2}  # rocky's two-argument if drops the key
    assert evaluate({"if": ["dev", 1, 2]}, params=params, values={"env": "dev"},
                    conditions=conds) == 1


def test_bad_conditions():
    with pytest.raises(exc.StackValidationFailed, match='Invalid condition function "get_attr"'):
        evaluate(1, conditions={"c": {"get_attr": ["a", "b"]}})
    with pytest.raises(exc.StackValidationFailed, match='Invalid condition "nope"'):
        evaluate(1, conditions={"c": {"not": "nope"}})
    with pytest.raises(exc.StackValidationFailed, match="Circular definition"):
        evaluate(1, conditions={"a": {"not": "b"}, "b": {"not": "a"}})


def cfn(outputs, parameters=None, values=None, mappings=None, conditions=None, resources=None,
        resolver=None):
    tpl = {"AWSTemplateFormatVersion": "2010-09-09", "Parameters": parameters or {},
           "Resources": resources or {}, "Mappings": mappings or {},
           "Conditions": conditions or {},
           "Outputs": {k: {"Value": v} for k, v in outputs.items()}}
    stack = Template(tpl).validate(values or {}, stack_name="s", stack_id="sid",
                                   region="RegionOne")
    outs = {o["output_key"]: o for o in stack.outputs(resolver or TableResolver(zones=["az1"]))}
    return {k: o.get("output_error", o["output_value"]) for k, o in outs.items()}


def test_cfn_functions():
    res = {"Vm": {"Type": "AWS::EC2::Instance"}}
    got = cfn({"ref": {"Ref": "Vm"}, "name": {"Ref": "AWS::StackName"},
               "region": {"Ref": "AWS::Region"}, "att": {"Fn::GetAtt": ["Vm", "PublicIp"]},
               "join": {"Fn::Join": ["-", ["a", {"Ref": "Size"}]]},
               "b64": {"Fn::Base64": "text"}, "sel": {"Fn::Select": ["1", ["x", "y"]]},
               "split": {"Fn::Split": [",", "a,b"]},
               "map": {"Fn::FindInMap": ["Sizes", {"Ref": "Size"}, "Mem"]},
               "azs": {"Fn::GetAZs": ""},
               "rep": {"Fn::Replace": [{"%n%": "x"}, "a%n%"]},
               "if": {"Fn::If": ["Big", "yes", "no"]}},
              parameters={"Size": {"Type": "String", "Default": "m"}},
              mappings={"Sizes": {"m": {"Mem": 512}}},
              conditions={"Big": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Size"}, "s"]}]}},
              resources=res, resolver=TableResolver({"Vm": {"PublicIp": "1.2.3.4"}}, ["az1"]))
    assert got == {"ref": "Vm-id", "name": "s", "region": "RegionOne", "att": "1.2.3.4",
                   "join": "a-m", "b64": "text", "sel": "y", "split": ["a", "b"], "map": 512,
                   "azs": ["az1"], "rep": "ax", "if": "yes"}


def test_cfn_unknown_function_and_missing_mapping():
    got = cfn({"m": {"Fn::FindInMap": ["Nope", "a", "b"]}})
    assert "Mapping Nope.a.b not found" in got["m"]
    with pytest.raises(exc.InvalidTemplateVersion, match="Fn::Sub"):
        cfn({"x": {"Fn::Sub": "a"}})


def test_condition_functions_outside_conditions_are_data():
    assert evaluate({"equals": [1, 1]}, version="newton") == {"equals": [1, 1]}


def test_select_of_a_json_string():
    assert evaluate({"Fn::Select": ["1", '["a", "b"]']}, version="2013-05-23") == "b"
    assert evaluate({"Fn::Select": ["5", ["a"]]}, version="2013-05-23") == ""
    with pytest.raises(exc.StackValidationFailed, match='"Fn::Select": '):
        evaluate({"Fn::Select": ["1", "a,b"]}, version="2013-05-23")


def test_output_condition_needs_newton():
    tpl = {"heat_template_version": "2016-04-08", "outputs": {"o": {"value": 1, "condition": True}}}
    with pytest.raises(exc.StackValidationFailed, match='"condition" is not a valid keyword'):
        Template(tpl).validate()


def test_resource_facade_needs_a_parent():
    tpl = {"heat_template_version": "2015-10-15",
           "outputs": {"m": {"value": {"resource_facade": "metadata"}}}}
    stack = Template(tpl).validate(facade={"metadata": {"role": "db"}})
    assert stack.outputs(TableResolver())[0]["output_value"] == {"role": "db"}
    (out,) = Template(tpl).validate().outputs(TableResolver())
    assert "only available in nested stacks" in out["output_error"]
    cfn_tpl = {"AWSTemplateFormatVersion": "2010-09-09",
               "Outputs": {"p": {"Value": {"Fn::ResourceFacade": "DeletionPolicy"}}}}
    stack = Template(cfn_tpl).validate(facade={"deletion_policy": "Retain"})
    assert stack.outputs(TableResolver())[0]["output_value"] == "Retain"


def test_member_list_to_map():
    got = cfn({"m": {"Fn::MemberListToMap": ["Name", "Value", [
        "member.0.Name=key", "member.0.Value=door", "member.1.Name=colour",
        "member.1.Value=green"]]}})
    assert got["m"] == {"key": "door", "colour": "green"}


def test_cfn_json_template_with_a_conditional_resource():
    text = """{"AWSTemplateFormatVersion": "2010-09-09",
      "Parameters": {"Env": {"Type": "String", "AllowedValues": ["prod", "dev"]}},
      "Conditions": {"IsProd": {"Fn::Equals": [{"Ref": "Env"}, "prod"]}},
      "Resources": {"Big": {"Type": "AWS::EC2::Instance", "Condition": "IsProd"},
                    "Small": {"Type": "AWS::EC2::Instance"}},
      "Outputs": {"Id": {"Value": {"Ref": "Big"}, "Condition": "IsProd"}}}"""
    prod = Template.load(text).validate({"Env": "prod"})
    assert sorted(prod.resources) == ["Big", "Small"] and prod.conditions == {"IsProd": True}
    dev = Template.load(text).validate({"Env": "dev"})
    assert sorted(dev.resources) == ["Small"]
    assert dev.outputs(TableResolver())[0]["output_value"] is None
    with pytest.raises(exc.StackValidationFailed, match="is not an allowed value"):
        Template.load(text).validate({"Env": "qa"})
