"""``/openapi.json`` as standard tools read it: FastAPI's document, then made true to what the
gateway answers.

- every error is the V1 envelope (``V1Error``); no 422, which Tollway never sends (a parameter it
  refuses is a 400 envelope);
- the three token forms are ``securitySchemes``; every call that needs one says so and documents
  its 401 (and the 404 of a ``Tier`` header naming a sub-merchant that does not exist);
- a call with parameters or a body documents its 400, a call with a body its 413;
- schemas nested in a request body (``ScheduleItem``) live in ``components``: no dangling ``$ref``.

Limits come from ``api.fields`` and so show as ``minimum``/``maximum``/``maxLength``.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from tollway.api.authfirst import needs_token

ERROR = "V1Error"
SECURITY_SCHEMES: dict[str, Any] = {
    "Authorization": {
        "type": "apiKey",
        "in": "header",
        "name": "Authorization",
        "description": "The access token from `POST /users/getToken`: `<token>` or `Bearer <token>`.",
    },
    "X-ImpTokenHeader": {"type": "apiKey", "in": "header", "name": "X-ImpTokenHeader"},
    "_token": {"type": "apiKey", "in": "query", "name": "_token"},
}
_ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "V1's envelope of a refusal: `code` is not 0, `message` is i'mport's Korean text, "
    "Tollway's explanation is in the `Tollway-Detail` header.",
    "properties": {
        "code": {"type": "integer"},
        "message": {"type": "string"},
        "response": {"type": "null"},
    },
    "required": ["code", "message", "response"],
}
_WHY = {
    "400": "A parameter is missing, of the wrong type or out of range (the message names it)",
    "401": "No access token, or an invalid or expired one",
    "404": "Not found (or a `Tier` header naming a sub-merchant that does not exist)",
    "413": "The body is larger than the gateway takes",
}
_DEFS_REF = re.compile(r"^#/\$defs/")


def authenticated(path: str) -> bool:
    """The V1 prefixes (``getToken`` aside) and Tollway's own ``/tollway/*`` calls need a token."""
    return needs_token(path) or path.startswith("/tollway/")


def _error_response(code: str) -> dict[str, Any]:
    return {
        "description": _WHY[code],
        "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{ERROR}"}}},
    }


def _hoist_defs(node: Any, schemas: dict[str, Any]) -> Any:
    """Moves every nested ``$defs`` into ``components/schemas`` and points its ``$ref`` there."""
    if isinstance(node, dict):
        for name, definition in node.pop("$defs", {}).items():
            schemas.setdefault(name, _hoist_defs(definition, schemas))
        for key, value in list(node.items()):
            if key == "$ref" and isinstance(value, str):
                node[key] = _DEFS_REF.sub("#/components/schemas/", value)
            else:
                node[key] = _hoist_defs(value, schemas)
    elif isinstance(node, list):
        return [_hoist_defs(item, schemas) for item in node]
    return node


def tidy(doc: dict[str, Any]) -> dict[str, Any]:
    components = doc.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    schemas[ERROR] = _ERROR_SCHEMA
    components["securitySchemes"] = SECURITY_SCHEMES
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    for path, operations in doc.get("paths", {}).items():
        for operation in operations.values():
            responses: dict[str, Any] = operation.setdefault("responses", {})
            responses.pop("422", None)
            for code, answer in responses.items():
                if code in _WHY and code != "200":
                    responses[code] = {**_error_response(code), "description": answer.get("description") or _WHY[code]}
            needed = []
            if operation.get("parameters") or operation.get("requestBody"):
                needed.append("400")
            if operation.get("requestBody"):
                needed.append("413")
            if authenticated(path):
                operation["security"] = [{name: []} for name in SECURITY_SCHEMES]
                needed += ["401", "404"]
            for code in needed:
                responses.setdefault(code, _error_response(code))
            if "requestBody" in operation:
                operation["requestBody"] = _hoist_defs(operation["requestBody"], schemas)
    return doc


def install(app: FastAPI) -> None:
    """Serves the tidied document at ``app.openapi_url``, built once."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            doc = get_openapi(
                title=app.title,
                version=app.version,
                openapi_version=app.openapi_version,
                description=app.description,
                routes=app.routes,
                tags=app.openapi_tags,
                servers=app.servers,
            )
            app.openapi_schema = tidy(doc)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
