"""The template formats and versions Heat accepts, with the sections and intrinsic functions
each version enables (from the Heat template guide, hot_spec and cfn functions)."""

from __future__ import annotations

from dataclasses import dataclass

HOT_KEY = "heat_template_version"
AWS_KEY = "AWSTemplateFormatVersion"
HEAT_CFN_KEY = "HeatTemplateFormatVersion"

# Functions each HOT version added (+) or dropped (-), in release order.
_HOT_CFN_2013 = {"Fn::Base64", "Fn::GetAZs", "Fn::Join", "Fn::MemberListToMap", "Fn::Replace",
                 "Fn::ResourceFacade", "Fn::Select", "Fn::Split", "Ref"}
_HOT_STEPS: list[tuple[str, str | None, set[str], set[str]]] = [
    ("2013-05-23", None, {"get_attr", "get_file", "get_param", "get_resource", "list_join",
                          "resource_facade", "str_replace"} | _HOT_CFN_2013, set()),
    ("2014-10-16", None, set(), _HOT_CFN_2013 - {"Fn::Select"}),
    ("2015-04-30", None, {"repeat", "digest"}, set()),
    ("2015-10-15", None, {"str_split"}, {"Fn::Select"}),
    ("2016-04-08", None, {"map_merge"}, set()),
    ("2016-10-14", "newton", {"map_replace", "yaql", "if"}, set()),
    ("2017-02-24", "ocata", {"str_replace_strict", "filter"}, set()),
    ("2017-09-01", "pike", {"make_url", "list_concat", "list_concat_unique",
                            "str_replace_vstrict", "contains"}, set()),
    ("2018-03-02", "queens", set(), set()),
    ("2018-08-31", "rocky", set(), set()),
    ("2021-04-16", "wallaby", set(), set()),
]

CFN_FUNCTIONS = frozenset({
    "Ref", "Fn::GetAtt", "Fn::Join", "Fn::Base64", "Fn::Select", "Fn::Split", "Fn::FindInMap",
    "Fn::GetAZs", "Fn::Replace", "Fn::ResourceFacade", "Fn::MemberListToMap", "Fn::If"})
CFN_CONDITION_FUNCTIONS = frozenset({"Fn::Equals", "Fn::Not", "Fn::And", "Fn::Or", "Ref"})


@dataclass(frozen=True)
class Version:
    key: str                     # the top-level key that named the version
    date: str                    # "2016-10-14", or CFN's "2010-09-09" / "2012-12-12"
    name: str | None             # release alias ("newton"), if any
    functions: frozenset[str]
    condition_functions: frozenset[str]
    sections: tuple[str, ...]

    @property
    def is_hot(self) -> bool:
        return self.key == HOT_KEY

    def at_least(self, date: str) -> bool:
        return self.is_hot and self.date >= date

    @property
    def label(self) -> str:
        return f"{self.key}.{self.date}"


_HOT_SECTIONS = ("heat_template_version", "description", "parameter_groups", "parameters",
                 "resources", "outputs")
_CFN_SECTIONS = ("AWSTemplateFormatVersion", "HeatTemplateFormatVersion", "Description",
                 "Mappings", "Parameters", "Resources", "Outputs", "Conditions")


def _hot_versions() -> dict[str, Version]:
    table: dict[str, Version] = {}
    current: set[str] = set()
    for date, name, added, removed in _HOT_STEPS:
        current = (current | added) - removed
        newton = date >= "2016-10-14"
        conds: set[str] = {"equals", "get_param", "not", "and", "or"} if newton else set()
        if date >= "2017-09-01":
            conds |= {"yaql", "contains"}
        if date >= "2021-04-16":
            conds |= {"if"}
        sections = _HOT_SECTIONS + (("conditions",) if newton else ())
        version = Version(HOT_KEY, date, name, frozenset(current), frozenset(conds), sections)
        table[date] = version
        if name:
            table[name] = version
    return table


HOT_VERSIONS = _hot_versions()
CFN_VERSIONS = {
    AWS_KEY: {"2010-09-09": Version(AWS_KEY, "2010-09-09", None, CFN_FUNCTIONS,
                                    CFN_CONDITION_FUNCTIONS, _CFN_SECTIONS)},
    HEAT_CFN_KEY: {"2012-12-12": Version(HEAT_CFN_KEY, "2012-12-12", None, CFN_FUNCTIONS,
                                         CFN_CONDITION_FUNCTIONS, _CFN_SECTIONS)},
}
ALL_FUNCTIONS = frozenset().union(*(v.functions | v.condition_functions
                                    for v in HOT_VERSIONS.values())) | CFN_FUNCTIONS \
    | CFN_CONDITION_FUNCTIONS


def available() -> list[str]:
    """Every accepted ``<key>.<version>``, as Heat's template versions listing names them."""
    names = [f"{HOT_KEY}.{v}" for v in HOT_VERSIONS]
    return names + [f"{k}.{v}" for k, vs in CFN_VERSIONS.items() for v in vs]
