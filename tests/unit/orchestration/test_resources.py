"""Resource definitions and the dependency graph: references, loops, levels and conditions."""

from __future__ import annotations

import pytest

from nubes.orchestration import exceptions as exc
from nubes.orchestration.template import Template, graph
from tests.unit.orchestration.resolver import TableResolver

NET_STACK = """
heat_template_version: 2018-08-31
parameters:
  with_fip: {type: boolean, default: false}
conditions:
  fip: {get_param: with_fip}
resources:
  net: {type: OS::Neutron::Net}
  subnet:
    type: OS::Neutron::Subnet
    properties: {network: {get_resource: net}, cidr: 10.0.0.0/24}
  router: {type: OS::Neutron::Router}
  iface:
    type: OS::Neutron::RouterInterface
    properties: {router: {get_resource: router}, subnet: {get_resource: subnet}}
  server:
    type: OS::Nova::Server
    depends_on: iface
    deletion_policy: retain
    metadata: {net: {get_attr: [subnet, cidr]}}
    properties:
      networks: [{network: {get_resource: net}}]
  ip:
    type: OS::Neutron::FloatingIP
    condition: fip
    properties: {port_id: {get_attr: [server, addresses, private, 0, port]}}
outputs:
  addr: {value: {get_attr: [server, first_address]}, description: the address}
  fip: {value: {get_attr: [ip, floating_ip_address]}, condition: fip}
"""


def test_definitions_and_levels():
    stack = Template.load(NET_STACK).validate({})
    server = stack.resources["server"]
    assert server.type == "OS::Nova::Server" and server.deletion_policy == "Retain"
    assert server.depends_on == ["iface"]
    assert server.requires == {"iface", "subnet", "net"}
    assert server.properties == {"networks": [{"network": {"get_resource": "net"}}]}
    assert "ip" not in stack.resources  # its condition is false
    assert stack.levels == [["net", "router"], ["subnet"], ["iface"], ["server"]]
    assert stack.delete_levels() == [["server"], ["iface"], ["subnet"], ["net", "router"]]


def test_condition_true_adds_the_resource():
    stack = Template.load(NET_STACK).validate({"with_fip": "yes"})
    assert stack.levels[-1] == ["ip"]
    assert stack.resources["ip"].condition == "fip"


def test_resolved_properties_and_outputs():
    r = TableResolver({"server": {"first_address": "10.0.0.5",
                                  "addresses": {"private": [{"port": "p1"}]}},
                       "subnet": {"cidr": "10.0.0.0/24"},
                       "ip": {}})
    stack = Template.load(NET_STACK).validate({"with_fip": True})
    assert stack.properties("subnet", r) == {"network": "net-id", "cidr": "10.0.0.0/24"}
    assert stack.properties("ip", r) == {"port_id": "p1"}
    assert stack.metadata("server", r) == {"net": "10.0.0.0/24"}
    outs = {o["output_key"]: o for o in stack.outputs(r)}
    assert outs["addr"] == {"output_key": "addr", "output_value": "10.0.0.5",
                            "description": "the address"}
    assert outs["fip"]["output_value"] is None
    assert "floating_ip_address" in outs["fip"]["output_error"]  # one output fails, alone


def test_output_with_false_condition_is_none_without_error():
    stack = Template.load(NET_STACK).validate({})
    outs = {o["output_key"]: o for o in stack.outputs(TableResolver())}
    assert outs["fip"] == {"output_key": "fip", "output_value": None,
                           "description": "No description given"}


def test_undefined_reference():
    tpl = {"heat_template_version": "2015-10-15", "resources": {
        "a": {"type": "T", "properties": {"z": [{"x": {"get_resource": "nope"}}]}}}}
    with pytest.raises(exc.InvalidTemplateReference) as e:
        Template(tpl).validate()
    assert e.value.message == 'The specified reference "nope" (in a.Properties.z[0].x) is incorrect.'
    tpl["resources"]["a"] = {"type": "T", "depends_on": ["ghost"]}
    with pytest.raises(exc.InvalidTemplateReference, match='"ghost" \\(in a\\) is incorrect'):
        Template(tpl).validate()
    tpl["resources"]["a"] = {"type": "T"}
    tpl["outputs"] = {"o": {"value": {"get_attr": ["b", "x"]}}}
    with pytest.raises(exc.InvalidTemplateReference, match='"b" \\(in outputs.o.value\\)'):
        Template(tpl).validate()


def test_reference_to_a_resource_disabled_by_its_condition():
    stack = NET_STACK.replace("  addr:", "  bad: {value: {get_resource: ip}}\n  addr:")
    with pytest.raises(exc.InvalidTemplateReference, match='"ip"'):
        Template.load(stack).validate({})


def test_circular_dependency():
    tpl = {"heat_template_version": "2015-10-15", "resources": {
        "a": {"type": "T", "properties": {"p": {"get_attr": ["c", "x"]}}},
        "b": {"type": "T", "depends_on": "a"},
        "c": {"type": "T", "properties": {"p": {"get_resource": "b"}}},
        "d": {"type": "T"}}}
    with pytest.raises(exc.CircularDependency) as e:
        Template(tpl).validate()
    assert e.value.message == "Circular Dependency Found: a -> c -> b -> a"
    with pytest.raises(exc.CircularDependency, match="self -> self"):
        Template({"heat_template_version": "2015-10-15", "resources": {
            "self": {"type": "T", "properties": {"me": {"get_resource": "self"}}}}}).validate()


def test_only_the_taken_if_branch_makes_a_dependency():
    tpl = {"heat_template_version": "newton", "conditions": {"no": False},
           "resources": {"a": {"type": "T"}, "b": {"type": "T", "properties": {
               "p": {"if": ["no", {"get_resource": "a"}, "literal"]}}}}}
    stack = Template(tpl).validate()
    assert stack.resources["b"].requires == set()
    assert stack.levels == [["a", "b"]]


def test_resource_definition_errors():
    def check(res, message, version="2015-10-15"):
        with pytest.raises(exc.StackValidationFailed) as e:
            Template({"heat_template_version": version, "resources": {"r": res}}).validate()
        assert message in e.value.message
    check({"properties": {}}, 'Resource r is missing "type"')
    check({"type": 1}, "Resource r type type must be string")
    check({"type": "T", "propertes": {}}, '"propertes" is not a valid keyword inside a resource')
    check({"type": "T", "condition": "c"}, '"condition" is not a valid keyword', "2016-04-08")
    check({"type": "T", "deletion_policy": "Burn"}, 'Invalid deletion policy "Burn"')
    check({"type": "T", "condition": "c"}, 'Invalid condition "c"', "newton")


def test_cfn_resources_and_ref_dependencies():
    tpl = {"AWSTemplateFormatVersion": "2010-09-09",
           "Parameters": {"Key": {"Type": "String", "Default": "k"}},
           "Resources": {
               "Sg": {"Type": "AWS::EC2::SecurityGroup"},
               "Vm": {"Type": "AWS::EC2::Instance", "DeletionPolicy": "Snapshot",
                      "Properties": {"KeyName": {"Ref": "Key"},
                                     "SecurityGroups": [{"Ref": "Sg"}]}},
               "Ip": {"Type": "AWS::EC2::EIP",
                      "Properties": {"InstanceId": {"Ref": "Vm"}}},
               "Out": {"Type": "T", "DependsOn": ["Ip"],
                       "Metadata": {"ip": {"Fn::GetAtt": ["Ip", "AllocationId"]}}}}}
    stack = Template(tpl).validate()
    assert stack.resources["Vm"].requires == {"Sg"}  # Ref to a parameter is no dependency
    assert stack.resources["Vm"].deletion_policy == "Snapshot"
    assert stack.levels == [["Sg"], ["Vm"], ["Ip"], ["Out"]]
    assert stack.properties("Vm", TableResolver()) == {"KeyName": "k",
                                                       "SecurityGroups": ["Sg-id"]}


def test_hidden_parameters_are_masked():
    stack = Template({"heat_template_version": "2015-10-15", "parameters": {
        "pw": {"type": "string", "hidden": True}, "u": {"type": "string"}}}).validate(
        {"pw": "secret", "u": "me"})
    assert stack.shown_parameters() == {"pw": "******", "u": "me"}
    assert stack.parameters["pw"] == "secret"


def test_environment_parameters_and_defaults():
    tmpl = Template.load("heat_template_version: 2015-10-15\nparameters:\n"
                         "  a: {type: string}\n  b: {type: string, default: t}\n")
    stack = tmpl.validate({}, {"parameters": {"a": "env"}, "parameter_defaults": {"b": "pd"}})
    assert stack.parameters == {"a": "env", "b": "pd"}
    assert tmpl.validate({"a": "user"}, {"parameters": {"a": "env"}}).parameters["a"] == "user"


def test_levels_of_a_wide_and_a_deep_graph():
    wide = {f"s{i}": set() for i in range(100)}
    assert len(graph.levels(wide)) == 1 and len(graph.levels(wide)[0]) == 100
    deep = {f"r{i}": ({f"r{i - 1}"} if i else set()) for i in range(100)}
    assert [lv[0] for lv in graph.levels(deep)] == [f"r{i}" for i in range(100)]
    assert graph.delete_levels(deep)[0] == ["r99"]


def test_inline_boolean_conditions_and_wallaby_if_in_conditions():
    tpl = {"heat_template_version": "wallaby",
           "parameters": {"big": {"type": "boolean", "default": True}},
           "conditions": {"size": {"if": [{"get_param": "big"}, True, False]}},
           "resources": {"off": {"type": "T", "condition": False},
                         "on": {"type": "T", "condition": True},
                         "sized": {"type": "T", "condition": "size"}}}
    assert sorted(Template(tpl).validate().resources) == ["on", "sized"]
    assert sorted(Template(tpl).validate({"big": "no"}).resources) == ["on"]
    tpl["heat_template_version"] = "rocky"
    with pytest.raises(exc.StackValidationFailed, match='Invalid condition function "if"'):
        Template(tpl).validate()
