"""Heat's template engine as a pure library: load HOT or CFN text, validate parameters,
evaluate intrinsic functions and conditions, build the resource dependency graph and resolve
outputs.  No HTTP, no database: resources' ids and attributes come through a ``Resolver``.
"""
