"""Every operation of ``/openapi.json`` driven with generated paths, queries and bodies (schemathesis
strategies, hypothesis): never a 5xx, always JSON, always V1's envelope (issue 14 §3).

Bounded: a few valid and a few invalid examples per operation, no shrinking, no example database.
The cases are made in a thread and sent through the app in-process, on the test's event loop.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import response_schema_conformance, status_code_conformance
from schemathesis.core.transport import Response
from schemathesis.specs.openapi.schemas import OpenApiSchema

from tests.conftest import MerchantFixture, token_for

EXAMPLES = {GenerationMode.POSITIVE: 4, GenerationMode.NEGATIVE: 4}


def problems_of(response: Response) -> list[str]:
    """What is wrong with one answer (nothing, for a V1 answer)."""
    where = f"{response.request.method} {str(response.request.url)[:160]} → {response.status_code}"
    if response.status_code >= 500:
        return [f"{where}: a server error: {response.text[:200]}"]
    content_type = (response.headers.get("content-type") or [""])[0]
    if not content_type.startswith("application/json"):
        return [f"{where}: not JSON ({content_type})"]
    body = json.loads(response.content)
    if not (isinstance(body, dict) and set(body) == {"code", "message", "response"}):
        return [f"{where}: not the V1 envelope: {response.text[:200]}"]
    if (body["code"] == 0) != (response.status_code < 300) and response.status_code != 200:
        return [f"{where}: code {body['code']} with HTTP {response.status_code}"]
    return []


def send(client: httpx.AsyncClient, loop: asyncio.AbstractEventLoop, case: Any, token: str) -> Response:
    """Through the app in-process (on the test's event loop): a TCP round trip to the loopback
    server costs ~50 ms here, the app itself a few."""
    kwargs = case.as_transport_kwargs(base_url=str(client.base_url), headers={"Authorization": token})
    kwargs.pop("cookies", None)
    data = kwargs.pop("data", None)
    if isinstance(data, dict):  # a form: nested values (which a form cannot hold) as their JSON text
        kwargs["data"] = {k: v if isinstance(v, str | int | float) else json.dumps(v) for k, v in data.items()}
    elif data is not None:
        kwargs["content"] = data
    answer = asyncio.run_coroutine_threadsafe(client.request(**kwargs), loop).result()
    return Response.from_httpx(answer, verify=False)


def drive(schema: OpenApiSchema, client: httpx.AsyncClient, loop: asyncio.AbstractEventLoop, token: str) -> list[str]:
    found: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode, count in EXAMPLES.items():

            @settings(
                max_examples=count,
                deadline=None,
                database=None,
                derandomize=True,
                phases=[Phase.generate],
                suppress_health_check=list(HealthCheck),
            )
            @given(case=operation.as_strategy(generation_mode=mode))
            def call(case: Any) -> None:
                response = send(client, loop, case, token)
                found.extend(problems_of(response))
                try:
                    case.validate_response(response, checks=[response_schema_conformance, status_code_conformance])
                except BaseExceptionGroup as exc:  # schemathesis's failures: what the document does not say
                    found.append(f"{case.operation.label} → {response.status_code}: {str(exc)[:300]}")

            call()
    return found


async def test_no_input_gets_a_server_error_or_leaves_the_envelope(
    live: str, client: httpx.AsyncClient, merchant: MerchantFixture
) -> None:
    del live  # serves the sandbox PG that the connectors call
    document = (await client.get("/openapi.json")).json()
    token = await token_for(client, merchant)
    schema = schemathesis.openapi.from_dict(document)
    assert len(list(schema.get_all_operations())) >= 50
    problems = await asyncio.to_thread(drive, schema, client, asyncio.get_running_loop(), token)
    assert problems == []
