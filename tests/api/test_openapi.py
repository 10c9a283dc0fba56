"""``/openapi.json`` loads in standard tools and says what the gateway does (issue 14 §4)."""

from __future__ import annotations

import json
import re
from typing import Any

import httpx
import pytest
from openapi_spec_validator import validate

from tollway.api.openapi import authenticated


@pytest.fixture
async def doc(client: httpx.AsyncClient) -> dict[str, Any]:
    answer = await client.get("/openapi.json")
    assert answer.status_code == 200
    document: dict[str, Any] = answer.json()
    return document


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(path, method, op) for path, ops in doc["paths"].items() for method, op in ops.items()]


async def test_the_document_is_valid_openapi_without_dangling_refs(doc: dict[str, Any]) -> None:
    validate(doc)  # raises on an invalid document
    text = json.dumps(doc)
    refs = set(re.findall(r'"\$ref": "([^"]+)"', text))
    assert refs and all(ref.startswith("#/components/schemas/") for ref in refs)
    assert {ref.rsplit("/", 1)[1] for ref in refs} <= set(doc["components"]["schemas"])
    assert '"$defs"' not in text


async def test_limits_are_json_schema_keywords_and_no_422_is_advertised(doc: dict[str, Any]) -> None:
    text = json.dumps(doc)
    assert '"ge":' not in text and '"le":' not in text and '"422"' not in text
    prepare = doc["paths"]["/payments/prepare"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert prepare["properties"]["amount"]["maximum"] == 2**53 - 1
    assert prepare["properties"]["merchant_uid"]["maxLength"] == 40
    (customer_uid,) = [
        p for p in doc["paths"]["/subscribe/customers/{customer_uid}"]["get"]["parameters"] if p["in"] == "path"
    ]
    assert customer_uid["schema"]["maxLength"] == 80
    page = [p for p in doc["paths"]["/payments/status/{payment_status}"]["get"]["parameters"] if p["name"] == "page"]
    assert page[0]["schema"]["anyOf"][0]["maximum"] == 1_000_000


async def test_token_forms_are_security_schemes_and_errors_are_documented(doc: dict[str, Any]) -> None:
    schemes = doc["components"]["securitySchemes"]
    assert {(s["in"], s["name"]) for s in schemes.values()} == {
        ("header", "Authorization"),
        ("header", "X-ImpTokenHeader"),
        ("query", "_token"),
    }
    for path, method, op in operations(doc):
        responses = op["responses"]
        if authenticated(path):
            assert op["security"] and "401" in responses, (method, path)
        if op.get("parameters") or op.get("requestBody"):
            assert "400" in responses, (method, path)
    assert "security" not in doc["paths"]["/users/getToken"]["post"]
    assert {"200", "207", "404"} <= set(doc["paths"]["/payments"]["get"]["responses"])
    assert {"200", "207", "404"} <= set(doc["paths"]["/subscribe/customers"]["get"]["responses"])


async def test_no_form_body_is_advertised_where_a_form_is_refused(doc: dict[str, Any]) -> None:
    content = doc["paths"]["/subscribe/payments/schedule"]["post"]["requestBody"]["content"]
    assert list(content) == ["application/json"]
    assert "application/x-www-form-urlencoded" in doc["paths"]["/payments/prepare"]["post"]["requestBody"]["content"]


async def test_docs_use_the_vendored_swagger_ui(client: httpx.AsyncClient) -> None:
    page = (await client.get("/docs")).text
    assert "/docs/static/swagger-ui-bundle.js" in page and '<script src="/docs/init.js">' in page
    init = await client.get("/docs/init.js")  # the set-up is a file of its own, so the CSP needs no inline script
    assert init.status_code == 200 and '"/openapi.json"' in init.text
    assert not re.search(r"""(src|href)=["']https?://""", page)  # nothing from a CDN
    bundle = await client.get("/docs/static/swagger-ui-bundle.js")
    assert bundle.status_code == 200 and len(bundle.content) > 1_000_000
