"""Orchestration's domain errors, worded as Heat words them; ``heat_type`` is the ``error.type``
of Heat's fault body (``{"code", "title", "explanation", "error": {"message", "type"}}``)."""

from __future__ import annotations

from typing import Any, ClassVar

from nubes.core import exceptions as base


class OrchestrationError(base.BadRequest):
    code = "orchestration.bad_request"
    heat_type: ClassVar[str] = "HeatException"


class TemplateParseError(OrchestrationError):
    """Malformed YAML or JSON, a template too large or not a mapping; line and column are
    1-based and None when the error is not at a place in the text."""

    code = "orchestration.template_parse"
    heat_type = "HTTPBadRequest"

    def __init__(self, message: str, *, line: int | None = None, column: int | None = None,
                 **details: Any) -> None:
        super().__init__(message, **details)
        self.line = line
        self.column = column


class InvalidTemplateVersion(OrchestrationError):
    code = "orchestration.invalid_template_version"
    heat_type = "InvalidTemplateVersion"

    def __init__(self, explanation: str) -> None:
        super().__init__(f"The template version is invalid: {explanation}")


class InvalidTemplateSection(OrchestrationError):
    code = "orchestration.invalid_template_section"
    heat_type = "InvalidTemplateSection"

    def __init__(self, section: str) -> None:
        super().__init__(f"The template section is invalid: {section}")


class StackValidationFailed(OrchestrationError):
    """Heat's ``StackValidationFailed``: ``<error>: <path>: <message>`` when error and path are
    known, else the message alone."""

    code = "orchestration.stack_validation_failed"
    heat_type = "StackValidationFailed"

    def __init__(self, message: str, *, error: str = "", path: str | list[Any] = "") -> None:
        if isinstance(path, list):
            path = ".".join(str(p) for p in path)
        self.error, self.path, self.detail = error, path, message
        text = message
        if path:
            text = f"{path}: {text}"
        if error:
            text = f"{error}: {text}"
        super().__init__(text)


class InvalidTemplateReference(StackValidationFailed):
    code = "orchestration.invalid_template_reference"
    heat_type = "InvalidTemplateReference"

    def __init__(self, resource: str, key: str) -> None:
        super().__init__(f'The specified reference "{resource}" (in {key}) is incorrect.')
        self.resource, self.key = resource, key


class CircularDependency(StackValidationFailed):
    code = "orchestration.circular_dependency"
    heat_type = "CircularDependencyException"

    def __init__(self, cycle: list[str]) -> None:
        super().__init__("Circular Dependency Found: " + " -> ".join(cycle))
        self.cycle = cycle


class UserParameterMissing(StackValidationFailed):
    code = "orchestration.user_parameter_missing"
    heat_type = "UserParameterMissing"

    def __init__(self, key: str) -> None:
        super().__init__(f"The Parameter ({key}) was not provided.")
        self.key = key


class UnknownUserParameter(StackValidationFailed):
    code = "orchestration.unknown_user_parameter"
    heat_type = "UnknownUserParameter"

    def __init__(self, key: str) -> None:
        super().__init__(f"The Parameter ({key}) was not defined in template.")
        self.key = key


class InvalidSchemaError(StackValidationFailed):
    code = "orchestration.invalid_schema"
    heat_type = "InvalidSchemaError"
