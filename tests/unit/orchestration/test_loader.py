"""Loading template text: JSON or YAML, Heat's parse errors, size limit and version checks."""

from __future__ import annotations

import pytest

from nubes.orchestration import exceptions as exc
from nubes.orchestration.template import loader, versions

HOT_DATES = ["2013-05-23", "2014-10-16", "2015-04-30", "2015-10-15", "2016-04-08", "2016-10-14",
             "2017-02-24", "2017-09-01", "2018-03-02", "2018-08-31", "2021-04-16"]
HOT_NAMES = ["newton", "ocata", "pike", "queens", "rocky", "wallaby"]


@pytest.mark.parametrize("version", HOT_DATES + HOT_NAMES)
def test_every_hot_version_is_accepted(version):
    tpl = loader.parse(f"heat_template_version: {version}\nresources: {{}}\n")
    assert tpl["heat_template_version"] == version  # dates stay strings
    assert loader.detect_version(tpl).is_hot


def test_names_alias_their_dates():
    assert versions.HOT_VERSIONS["newton"] is versions.HOT_VERSIONS["2016-10-14"]
    assert versions.HOT_VERSIONS["wallaby"] is versions.HOT_VERSIONS["2021-04-16"]


def test_json_and_cfn_formats():
    aws = loader.parse('{"AWSTemplateFormatVersion": "2010-09-09", "Resources": {}}')
    assert loader.detect_version(aws).key == "AWSTemplateFormatVersion"
    heat = loader.parse("HeatTemplateFormatVersion: '2012-12-12'\nResources: {}\n")
    assert not loader.detect_version(heat).is_hot


def test_malformed_yaml_gives_line_and_column():
    with pytest.raises(exc.TemplateParseError) as e:
        loader.parse("heat_template_version: 2015-10-15\nresources:\n  a: [1, 2\n  b: 3\n")
    assert e.value.message.startswith("Error parsing template [root stack] ")
    assert e.value.line == 4 and e.value.column is not None
    assert "line 4" in e.value.message


def test_malformed_json_gives_line_and_column():
    with pytest.raises(exc.TemplateParseError) as e:
        loader.parse('{"heat_template_version": "2015-10-15",\n "resources": {,}}', url="t.json")
    assert e.value.message.startswith("Error parsing template t.json ")
    assert (e.value.line, e.value.column) == (2, 16)
    assert "line 2, column 16" in e.value.message


def test_size_limit():
    text = "heat_template_version: 2015-10-15\ndescription: " + "x" * loader.MAX_TEMPLATE_SIZE
    with pytest.raises(exc.TemplateParseError, match=r"exceeds maximum allowed size \(524288 bytes\)"):
        loader.parse(text)


@pytest.mark.parametrize("text,message", [
    ("- a\n- b\n", "The template is not a JSON object or YAML mapping."),
    ("", "Template format version not found."),
    ("resources: {}\n", "Template format version not found."),
])
def test_not_a_template(text, message):
    with pytest.raises(exc.TemplateParseError) as e:
        loader.parse(text)
    assert e.value.message == message


def test_unknown_version():
    with pytest.raises(exc.InvalidTemplateVersion) as e:
        loader.detect_version(loader.parse("heat_template_version: 2099-01-01\n"))
    assert e.value.message.startswith(
        'The template version is invalid: "2099-01-01". "heat_template_version" should be one of: ')
    assert "2013-05-23" in e.value.message and "wallaby" in e.value.message
    with pytest.raises(exc.InvalidTemplateVersion, match='"AWSTemplateFormatVersion" should be one of: 2010-09-09'):
        loader.detect_version({"AWSTemplateFormatVersion": "2011-01-01"})


def test_unknown_section():
    with pytest.raises(exc.InvalidTemplateSection) as e:
        loader.detect_version(loader.parse("heat_template_version: 2015-10-15\nresource: {}\n"))
    assert e.value.message == "The template section is invalid: resource"
    # conditions arrived with newton
    with pytest.raises(exc.InvalidTemplateSection):
        loader.detect_version({"heat_template_version": "2016-04-08", "conditions": {}})
    loader.detect_version({"heat_template_version": "2016-10-14", "conditions": {}})


def test_functions_per_version():
    hot = versions.HOT_VERSIONS
    assert "Fn::Join" in hot["2013-05-23"].functions
    assert "Fn::Join" not in hot["2014-10-16"].functions
    assert "Fn::Select" in hot["2015-04-30"].functions
    assert "Fn::Select" not in hot["2015-10-15"].functions
    assert "str_split" in hot["2015-10-15"].functions
    assert "repeat" not in hot["2014-10-16"].functions
    assert {"make_url", "list_concat", "contains", "str_replace_vstrict"} <= hot["pike"].functions
    assert "filter" not in hot["newton"].functions
    assert "contains" in hot["pike"].condition_functions
    assert "contains" not in hot["ocata"].condition_functions
