"""Heat's template engine as a pure library: load HOT or CFN text, validate parameters,
evaluate intrinsic functions and conditions, build the resource dependency graph and resolve
outputs.  No HTTP, no database: resources' ids and attributes come through a ``Resolver``.

``Template.load(text, files=None)``, then ``tmpl.validate(params, env)`` gives a
``StackDefinition``: its ``resources``, ``levels`` (what can be created in parallel),
``delete_levels()``, ``properties(name, resolver)`` and ``outputs(resolver)``.
"""

from nubes.orchestration.template.functions import Resolver
from nubes.orchestration.template.loader import MAX_TEMPLATE_SIZE, parse
from nubes.orchestration.template.parameters import CUSTOM_CONSTRAINTS
from nubes.orchestration.template.stack import ResourceDefinition, StackDefinition, Template

__all__ = ["CUSTOM_CONSTRAINTS", "MAX_TEMPLATE_SIZE", "ResourceDefinition", "Resolver",
           "StackDefinition", "Template", "parse"]
