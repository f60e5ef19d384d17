"""The OpenAPI document tells the truth about the conventions every endpoint follows.

``AutoSchema`` (the project's ``DEFAULT_SCHEMA_CLASS``) adds to each operation what the API
layer does for every view, so a new endpoint is documented without code of its own: the error
responses it can answer (the ``Error`` body), the ``Idempotency-Key`` and ``If-Match`` request
headers, and the ``X-Request-Id``, ``ETag`` and ``Location`` response headers (a client may send
its own ``X-Request-Id``: docs/api.md). ``strict_request_bodies`` (a post-processing hook)
says that request bodies refuse unknown fields (``additionalProperties: false``), as
``StrictSerializer`` does.
"""

from __future__ import annotations

from typing import Any

from django.core.validators import RegexValidator
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework import serializers
from rest_framework.permissions import AllowAny

from sesame.api.conditional import ObjectEndpoint
from sesame.api.serializers import DATE_TIME_PATTERN

UNSAFE = ("POST", "PUT", "PATCH", "DELETE")
ERROR_DESCRIPTIONS = {
    "400": "Invalid request: a field (`errors`), malformed JSON (`malformed_json`), a malformed "
    "Idempotency-Key (`idempotency_key_invalid`).",
    "401": "No API key, or an unknown, revoked or expired one.",
    "403": "This key may not call this endpoint, or not for this object.",
    "404": "No such object, or one the key may not see (another company's).",
    "406": "The `Accept` header asks for something other than JSON.",
    "409": "The object's state forbids it (`status_<status>`), a unique value is taken, or a "
    "request with this Idempotency-Key is still running (`idempotency_in_progress`).",
    "412": "`If-Match` does not match the object's current ETag (`precondition_failed`).",
    "413": "The request body is too large (`payload_too_large`).",
    "415": "The body is not `application/json`.",
    "422": "Refused by a business rule, or this Idempotency-Key was used for another request "
    "(`idempotency_key_reused`).",
    "429": "Too many requests: retry after `Retry-After` seconds.",
}
REQUEST_ID = {
    "schema": {"type": "string"},
    "description": "The request's id: the client's `X-Request-Id` when it gave a sane one.",
}
# StrictSerializer's range (sesame/api/serializers.py), as patterns beside the formats.
DATE_PATTERN = r"^(20[0-9]{2}|2100)-[0-9]{2}-[0-9]{2}$"


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "sesame.api.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema: object) -> dict[str, str]:
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Api-Key <key>`: a company key or a partner key.",
        }


class ErrorSerializer(serializers.Serializer):
    """Every error body (sesame/api/errors.py)."""

    code = serializers.CharField(help_text="Stable, machine-readable: `invalid`, `not_found`, …")
    detail = serializers.CharField(help_text="A sentence in the language of `Accept-Language`.")
    # A schema-only serializer: the field may shadow Serializer.errors, never validated.
    errors = serializers.DictField(  # type: ignore[assignment]
        required=False,
        help_text="For `invalid`: each field's errors, `[{message, code}]` (nested fields and "
        "list positions as nested objects).",
    )


def _header(name: str, description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {
        "in": "header",
        "name": name,
        "required": False,
        "schema": schema,
        "description": description,
    }


# What StrictSerializer refuses in text, as a pattern: control characters and bidirectional
# overrides (line breaks allowed in multi-line fields); trimmed fields need a visible character.
NO_CONTROLS = "[^\\u0000-\\u001f\\u007f-\\u009f\\u202a-\\u202e\\u2066-\\u2069]"
NO_CONTROLS_MULTILINE = (
    "[^\\u0000-\\u0008\\u000b\\u000c\\u000e-\\u001f\\u007f-\\u009f\\u202a-\\u202e\\u2066-\\u2069]"
)


def reference_codes(model: Any, slug_field: str) -> list[str]:
    """The codes of reference data seeded by migrations (border control posts), read from the
    seed itself: the schema is the same whatever the database holds, and is built without one
    (``check --deploy`` on a new machine)."""
    from sesame.migrations._reference import POSTS
    from sesame.models import BorderControlPost

    if model is BorderControlPost and slug_field == "code":
        return sorted(code for code, _name, _port in POSTS)
    return []


def request_field_schema(field: serializers.Field, schema: dict[str, Any]) -> dict[str, Any]:
    """A request field's schema with StrictSerializer's rules that a pattern can say."""
    if "$ref" in schema or "enum" in schema:
        return schema
    queryset: Any = getattr(field, "queryset", None)
    if isinstance(field, serializers.SlugRelatedField) and queryset is not None:
        codes = reference_codes(queryset.model, field.slug_field)
        if codes:
            schema["enum"] = codes
            schema.pop("pattern", None)
        return schema
    if isinstance(field, serializers.DecimalField):
        whole = (field.max_digits or 15) - (field.decimal_places or 0)
        sign = "" if field.min_value is not None and field.min_value >= 0 else "-?"
        schema["pattern"] = f"^{sign}[0-9]{{1,{whole}}}(\\.[0-9]{{1,{field.decimal_places}}})?$"
    elif isinstance(field, serializers.DateTimeField):
        schema["pattern"] = DATE_TIME_PATTERN
    elif isinstance(field, serializers.DateField):
        schema["pattern"] = DATE_PATTERN
    elif isinstance(field, serializers.RegexField):
        # The field's own pattern (\\Z, Python's end of text, is $ in ECMA-262; StrictSerializer
        # refuses the trailing line break that $ would let through).
        regex = next(v.regex for v in field.validators if isinstance(v, RegexValidator))
        source = regex if isinstance(regex, str) else regex.pattern
        schema["pattern"] = source.replace("\\Z", "$")
    elif isinstance(field, serializers.CharField) and "pattern" not in schema:
        multiline = field.style.get("base_template") == "textarea.html"
        text = NO_CONTROLS_MULTILINE if multiline else NO_CONTROLS
        visible = "(?=[\\s\\S]*\\S)" if field.trim_whitespace and not field.allow_blank else ""
        schema["pattern"] = f"^{visible}{text}*$"
    return schema


class AutoSchema(SpectacularAutoSchema):
    def _map_serializer_field(
        self, field: Any, direction: str, bypass_extensions: bool = False
    ) -> dict[str, Any]:
        schema = super()._map_serializer_field(field, direction, bypass_extensions)
        if direction == "request" and isinstance(schema, dict):
            return request_field_schema(field, schema)
        return schema

    def get_description(self) -> str:  # type: ignore[override]  # drf-spectacular's signature
        # The view's own docstring only: the mixins' docstrings are for developers.
        action = getattr(self.view, self.method.lower(), None)
        own = getattr(action, "__doc__", None) or vars(type(self.view)).get("__doc__") or ""
        return " ".join(own.split())

    def get_operation(self, *args: Any, **kwargs: Any) -> dict[str, Any] | None:
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        method = self.method.upper()
        has_body = "requestBody" in operation
        path_parameters = any(p.get("in") == "path" for p in operation.get("parameters", []))
        query_parameters = any(p.get("in") == "query" for p in operation.get("parameters", []))
        object_endpoint = isinstance(self.view, ObjectEndpoint)
        codes = {"401", "403", "406", "429"}
        if has_body or query_parameters or method in UNSAFE:
            codes.add("400")
        paginated = any(p.get("name") == "page" for p in operation.get("parameters", []))
        if path_parameters or paginated:
            codes.add("404")  # an object, or a page past the last
        if method in ("POST", "PATCH"):
            codes |= {"409", "422"}
        if method in UNSAFE:
            codes.add("413")
        if method in UNSAFE:
            codes.add("415")  # a body that is not JSON (or any, where none is taken)
        if_match = object_endpoint and method in UNSAFE and path_parameters
        if if_match:
            codes.add("412")
        if any(
            isinstance(p, type) and issubclass(p, AllowAny) for p in self.view.permission_classes
        ):
            codes.discard("401")
        error = self.resolve_serializer(ErrorSerializer, "response").ref
        responses = operation.setdefault("responses", {})
        for code in sorted(codes):
            documented = responses.get(code)
            if documented is None:
                responses[code] = {
                    "description": ERROR_DESCRIPTIONS[code],
                    "content": {"application/json": {"schema": error}},
                }
                continue
            # The view documents its own body for this status; the layer's errors come too.
            content = documented.setdefault("content", {}).setdefault("application/json", {})
            own = content.get("schema")
            if own and own != error:
                content["schema"] = {"anyOf": [own, error]}
        parameters = operation.setdefault("parameters", [])
        if method in ("POST", "PATCH"):
            parameters.append(
                _header(
                    "Idempotency-Key",
                    "Makes a retry safe: the first response is stored 24 h and replayed for the "
                    "same key and body (`Idempotent-Replayed: true`).",
                    {"type": "string", "pattern": r'^"?[!#-~]{1,255}"?$'},
                )
            )
        if if_match:
            parameters.append(
                _header(
                    "If-Match",
                    "The ETag read last: the write happens only if the object is "
                    "unchanged (412 otherwise).",
                    {"type": "string"},
                )
            )
        for parameter in operation.get("parameters", []):
            if parameter.get("in") == "query" and parameter.get("name") in ("page", "page_size"):
                parameter["schema"]["minimum"] = 1
                if parameter["name"] == "page_size":
                    parameter["schema"]["maximum"] = 200
        listing = method == "GET" and not path_parameters
        for code, response in responses.items():
            headers = response.setdefault("headers", {})
            headers["X-Request-Id"] = {**REQUEST_ID, "required": True}
            if object_endpoint and code.startswith("2") and not listing:
                headers["ETag"] = {
                    "schema": {"type": "string"},
                    "description": "The object's strong ETag, for `If-Match`.",
                    "required": True,
                }
            if object_endpoint and code == "201":
                headers["Location"] = {
                    "schema": {"type": "string", "format": "uri"},
                    "description": "The created object's URL.",
                    "required": True,
                }
        return operation


_REFINEMENTS: dict[str, list[Any]] = {}


def refine(component: str, change: Any) -> None:
    """Declare a change to a component that serializers cannot express (a rule across
    fields): ``change(schema)`` edits the component's schema in place."""
    _REFINEMENTS.setdefault(component, []).append(change)


def strict_request_bodies(result: dict[str, Any], **_: Any) -> dict[str, Any]:
    """Request components say what StrictSerializer does: unknown fields refused
    (``additionalProperties: false`` where the component does not say otherwise: free-form
    payloads keep theirs); then the declared refinements."""
    for name, component in result.get("components", {}).get("schemas", {}).items():
        if name.endswith("Request") and component.get("type") == "object":
            component.setdefault("additionalProperties", False)
        for change in _REFINEMENTS.get(name, []):
            change(component)
    return result


def blank_apart(result: dict[str, Any], **_: Any) -> dict[str, Any]:
    """drf-spectacular writes a string that may be blank as ``oneOf`` [its schema, an empty
    string]; the first must then refuse the empty string, or "" matches both and ``oneOf`` (one
    exactly) refuses it. Everywhere in the document: bodies and query parameters."""

    def visit(node: Any) -> None:
        if isinstance(node, dict):
            for branch in node.get("oneOf", ()):
                if (
                    isinstance(branch, dict)
                    and branch.get("type") == "string"
                    and branch.get("maxLength") != 0
                ):
                    branch.setdefault("minLength", 1)
            for value in node.values():
                visit(value)
        elif isinstance(node, list):
            for value in node:
                visit(value)

    visit(result)
    return result


# --- OpenAPI links (what a response lets a client do next; schemathesis follows them) ---------

_LINKS: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}


def link(source: str, status: str, name: str, target: str, **parameters: str) -> None:
    """Declare that the ``status`` response of operation ``source`` leads to operation
    ``target``, its parameters taken from the response (``$response.body#/id``)."""
    _LINKS.setdefault((source, status), {})[name] = {
        "operationId": target,
        "parameters": parameters,
    }


def openapi_links(result: dict[str, Any], **_: Any) -> dict[str, Any]:
    """Post-processing hook: writes the declared links into the responses."""
    for path in result.get("paths", {}).values():
        for operation in path.values():
            if not isinstance(operation, dict):
                continue
            for status, response in operation.get("responses", {}).items():
                links = _LINKS.get((operation.get("operationId", ""), status))
                if links:
                    response["links"] = links
    return result
