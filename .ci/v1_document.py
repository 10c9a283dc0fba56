"""The official V1 document (``shared/reference/iamport-v1.openapi.json``) made loadable, for the
schemathesis pass of ``.ci/fuzz``: ``python .ci/v1_document.py IN OUT``.

Only mechanical defects and documented disagreements are corrected; what V1 promises is kept:
- numbers written as strings (``"maximum": "1000"``, ``"maxLength": "80"``) become numbers;
  ``"items": "string"`` becomes ``{"type": "string"}``; a ``$ref`` to a definition the document
  lacks becomes an open schema;
- Swagger 2.0 has no ``null``, but V1 answers ``null`` for every absent value (``message`` on
  success, ``currency`` of a prepare, ``response`` of a refusal): every property is nullable;
- a ``$ref`` in a form or query parameter's ``items`` (where a Swagger 2.0 resolver does not look)
  is replaced by the definition it names;
- ``PaymentPrepareAnnotation`` requires ``total``/``previous``/``next``, a copy of the paged
  object's list (V1's prepare has no such fields);
- ``GET /subscribe/payments/schedule/customers/{customer_uid}`` (and its alias) answer the paged
  object that V1's clients read (``iamport-v1.md`` §3.4: "[OAS] again says an array").
"""

from __future__ import annotations

import json
import sys
from typing import Any

NUMERIC = {"maximum", "minimum", "maxLength", "minLength", "maxItems", "minItems"}
PAGED_SCHEDULES = {
    "allOf": [
        {"$ref": "#/definitions/ResponseAnnotation"},
        {
            "properties": {
                "response": {
                    "type": "object",
                    "x-nullable": True,
                    "properties": {
                        "total": {"type": "integer"},
                        "previous": {"type": "integer"},
                        "next": {"type": "integer"},
                        "list": {"type": "array", "items": {"$ref": "#/definitions/ScheduleResultAnnotation"}},
                    },
                }
            }
        },
    ]
}


def repair(node: Any, definitions: dict[str, Any]) -> Any:
    if isinstance(node, list):
        return [repair(item, definitions) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in NUMERIC and isinstance(value, str) and value.lstrip("-").isdigit():
            out[key] = int(value)
        elif key == "items" and isinstance(value, str):
            out[key] = {"type": value}
        elif key == "$ref" and isinstance(value, str) and value.startswith("#/definitions/"):
            out[key] = value if value.rsplit("/", 1)[1] in definitions else "#/definitions/Open"
        elif key == "properties" and isinstance(value, dict):
            out[key] = {name: {**repair(prop, definitions), "x-nullable": True} for name, prop in value.items()}
        else:
            out[key] = repair(value, definitions)
    return out


def inline(node: Any, definitions: dict[str, Any], depth: int = 0) -> Any:
    """``node`` with every ``$ref`` to a definition replaced by (a copy of) the definition."""
    if isinstance(node, list):
        return [inline(item, definitions, depth) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/definitions/") and depth < 8:
        return inline(definitions.get(ref.rsplit("/", 1)[1], {}), definitions, depth + 1)
    return {key: inline(value, definitions, depth) for key, value in node.items()}


def main(source: str, target: str) -> None:
    with open(source, encoding="utf-8") as f:
        doc = json.load(f)
    definitions = doc["definitions"]
    definitions["Open"] = {}
    definitions["PaymentPrepareAnnotation"].pop("required", None)
    definitions["PagedScheduleResponse"] = PAGED_SCHEDULES
    for path in (
        "/subscribe/payments/schedule/customers/{customer_uid}",
        "/subscribe/customers/{customer_uid}/schedules",
    ):
        get = doc["paths"].get(path, {}).get("get")
        if get is not None:
            get["responses"]["200"]["schema"] = {"$ref": "#/definitions/PagedScheduleResponse"}
    for operations in doc["paths"].values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []) if isinstance(operation, dict) else []:
                if parameter.get("in") != "body" and "items" in parameter:
                    parameter["items"] = inline(parameter["items"], definitions)
    doc = repair(doc, definitions)
    with open(target, "w", encoding="utf-8") as f:
        json.dump(doc, f, ensure_ascii=False)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
