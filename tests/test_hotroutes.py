"""``HotRoutes``: the hottest calls skip FastAPI's routing and dependencies, and answer exactly as
FastAPI's route does, errors included; everything it does not take is FastAPI's as before."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import fastapi.routing
import httpx
import pytest
from fastapi import FastAPI, Header, Request
from fastapi.dependencies.utils import solve_dependencies
from starlette.responses import Response
from structlog.testing import capture_logs

from tests.api.routes.pg_helpers import APPROVE, DECLINE, onetime
from tests.conftest import MerchantFixture, token_for
from tollway import app as app_module
from tollway.api.deps import PRINCIPAL_KEY, PrincipalDep, ServicesDep
from tollway.app import create_app
from tollway.hotroutes import HotRoutes
from tollway.observability.metrics import HTTP_REQUESTS, REGISTRY
from tollway.services import Services

#: what differs between any two answers, hot or not
VOLATILE = {"date", "x-request-id", "content-length", "x-tosspayments-trace-id"}


@pytest.fixture
def solved(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The paths FastAPI solved dependencies for: a hot call adds none."""
    paths: list[str] = []
    original = solve_dependencies

    async def counting(*args: Any, **kwargs: Any) -> Any:
        paths.append(kwargs["request"].url.path)
        return await original(*args, **kwargs)

    monkeypatch.setattr(fastapi.routing, "solve_dependencies", counting)
    return paths


@pytest.fixture
async def plain(services: Services, live: str, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[httpx.AsyncClient]:
    """The same gateway with no hot endpoint: every call through FastAPI (PG calls go to ``live``)."""
    del live  # served, so the sandbox PG answers
    with monkeypatch.context() as patch:
        patch.setattr(app_module, "HOT_ENDPOINTS", ())
        app = create_app(services=services)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://tollway.test") as http:
        yield http


@pytest.fixture
async def hot(services: Services, live: str) -> AsyncIterator[httpx.AsyncClient]:
    del live
    app = create_app(services=services)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://tollway.test") as http:
        yield http


def shape(answer: httpx.Response) -> tuple[int, list[tuple[str, str]], bytes]:
    headers = sorted((k, v) for k, v in answer.headers.items() if k not in VOLATILE)
    return answer.status_code, headers, answer.content


async def both(
    hot: httpx.AsyncClient, plain: httpx.AsyncClient, solved: list[str], method: str, path: str, **kw: Any
) -> tuple[httpx.Response, httpx.Response]:
    """The same call to both apps; the hot one solved no dependencies."""
    before = len(solved)
    fast = await hot.request(method, path, **kw)
    assert solved[before:] == [], f"{method} {path} went through FastAPI"
    slow = await plain.request(method, path, **kw)
    assert len(solved) > before, "the plain app did not route through FastAPI"
    return fast, slow


async def test_lookups_answer_byte_for_byte_as_fastapi_does(
    hot: httpx.AsyncClient, plain: httpx.AsyncClient, solved: list[str], merchant: MerchantFixture
) -> None:
    auth = {"Authorization": await token_for(hot, merchant)}
    paid = (await hot.post("/subscribe/payments/onetime", json=onetime("hot-1"), headers=auth)).json()["response"]
    for imp_uid in (paid["imp_uid"], "imp_000000000000"):  # found, and not found (a TollwayError)
        fast, slow = await both(hot, plain, solved, "GET", f"/payments/{imp_uid}", headers=auth)
        assert shape(fast) == shape(slow)
    assert fast.status_code == 404


async def test_a_token_answers_as_fastapi_does(
    hot: httpx.AsyncClient, plain: httpx.AsyncClient, solved: list[str], merchant: MerchantFixture
) -> None:
    wrong = {"imp_key": merchant.imp_key, "imp_secret": "not-it"}
    fast, slow = await both(hot, plain, solved, "POST", "/users/getToken", json=wrong)
    assert fast.status_code == 401 and shape(fast) == shape(slow)
    right = {"imp_key": merchant.imp_key, "imp_secret": merchant.imp_secret}
    fast, slow = await both(hot, plain, solved, "POST", "/users/getToken", data=right)  # a form body too
    assert fast.status_code == slow.status_code == 200
    assert fast.json()["response"]["access_token"] == slow.json()["response"]["access_token"]
    fast, slow = await both(hot, plain, solved, "POST", "/users/getToken", content=b"{not json")
    assert fast.status_code == 400 and shape(fast) == shape(slow)


async def test_charges_answer_as_fastapi_does(
    hot: httpx.AsyncClient, plain: httpx.AsyncClient, solved: list[str], merchant: MerchantFixture
) -> None:
    auth = {"Authorization": await token_for(hot, merchant)}
    for body in ({**onetime("hot-x"), "amount": "15000"}, {"merchant_uid": "hot-y"}):  # refused before any charge
        fast, slow = await both(hot, plain, solved, "POST", "/subscribe/payments/onetime", json=body, headers=auth)
        assert fast.status_code == 400 and shape(fast) == shape(slow)
    fast, slow = await both(
        hot, plain, solved, "POST", "/subscribe/payments/again", headers=auth,
        json={"customer_uid": "nobody", "merchant_uid": "hot-z", "amount": 1000},
    )  # fmt: skip
    assert fast.json()["code"] == 1 and shape(fast) == shape(slow)
    outcomes = []
    for client, suffix in ((hot, "h"), (plain, "p")):
        for card in (APPROVE, DECLINE):
            answer = await client.post(
                "/subscribe/payments/onetime", json=onetime(f"hot-{suffix}-{card[-4:]}", card=card), headers=auth
            )
            p = answer.json()["response"]
            outcomes.append((answer.status_code, sorted(p), p["status"], p["fail_reason"]))
    assert outcomes[:2] == outcomes[2:] and [o[2] for o in outcomes[:2]] == ["paid", "failed"]
    await hot.post("/subscribe/customers/hot-cu", json={"card_number": APPROVE, "expiry": "2030-12",
                   "birth": "900101"}, headers=auth)  # fmt: skip
    paid = []
    for client, uid in ((hot, "hot-a1"), (plain, "hot-a2")):
        answer = await client.post(
            "/subscribe/payments/again", json={"customer_uid": "hot-cu", "merchant_uid": uid, "amount": 1000},
            headers=auth,
        )  # fmt: skip
        paid.append((answer.status_code, answer.json()["response"]["status"], sorted(answer.json()["response"])))
    assert paid[0] == paid[1] == (200, "paid", paid[0][2])


@pytest.mark.parametrize(
    "path",
    ["/v1/payments/confirm", "/v1/payments/key-in", "/v1/billing/bk_unknown"],
    ids=["confirm", "key-in", "billing"],
)
async def test_the_sandbox_pg_s_charges_are_hot(hot: httpx.AsyncClient, solved: list[str], path: str) -> None:
    """Its billing charge reads its key from ``request.path_params`` (not an argument): still hot."""
    fast = await hot.post(f"/sandbox/toss{path}", json={})
    assert solved == [], f"{path} went through FastAPI"
    slow = await hot.post(f"/sandbox/toss{path}?through=fastapi", json={})  # a query: FastAPI's
    assert solved == [f"/sandbox/toss{path}"]
    assert fast.status_code == 401 and shape(fast) == shape(slow)


async def test_what_it_does_not_take_is_fastapi_s(
    hot: httpx.AsyncClient, solved: list[str], merchant: MerchantFixture
) -> None:
    auth = {"Authorization": await token_for(hot, merchant)}
    calls = [
        ("/payments/imp_000000000000?include_sandbox=true", 404),  # a query: FastAPI parses it
        ("/payments/imp_000000000000?include_sandbox=maybe", 400),  # and refuses what it cannot read
        ("/payments/" + "x" * 33, 400),  # longer than an imp_uid: FastAPI's validation error
        ("/payments/find/nothing-here", 404),  # another route under /payments/
    ]
    for path, status in calls:
        before = len(solved)
        answer = await hot.get(path, headers=auth)
        assert answer.status_code == status, (path, answer.text)
        assert len(solved) > before, path
    refused = await hot.get("/payments/" + "x" * 33, headers=auth)
    assert refused.json()["code"] == 1 and "imp_uid" in refused.json()["message"]
    # no token: AuthenticateFirst answers before anything is routed, hot or not
    assert (await hot.get("/payments/imp_000000000000")).status_code == 401


async def test_the_access_log_and_metrics_name_the_route(
    hot: httpx.AsyncClient, solved: list[str], merchant: MerchantFixture
) -> None:
    auth = {"Authorization": await token_for(hot, merchant)}
    labels = {"route": "/payments/{imp_uid}", "method": "GET", "status": "404"}
    counted = REGISTRY.get_sample_value(f"{HTTP_REQUESTS._name}_count", labels) or 0
    with capture_logs() as logs:
        await hot.get("/payments/imp_000000000001", headers=auth)
    assert solved == []
    assert REGISTRY.get_sample_value(f"{HTTP_REQUESTS._name}_count", labels) == counted + 1
    (line,) = [entry for entry in logs if entry["event"] == "request"]
    assert (line["path"], line["status"], line["method"]) == ("/payments/{imp_uid}", 404, "GET")


def _app_with(endpoint: Callable[..., Any], path: str) -> FastAPI:
    app = FastAPI()
    app.get(path)(endpoint)
    return app


async def _reads_a_header(x_thing: str = Header()) -> Response:
    return Response(x_thing)


async def _needs_a_query(q: str) -> Response:
    return Response(q)


async def _wants_more(request: Request, other: int = 1) -> Response:
    return Response(str(other))


async def _fine(imp_uid: str, principal: PrincipalDep, services: ServicesDep) -> Response:
    return Response(imp_uid)


@pytest.mark.parametrize(
    ("endpoint", "path"),
    [
        (_reads_a_header, "/h"),
        (_needs_a_query, "/q"),
        (_fine, "/a/{imp_uid}/b"),  # a parameter that is not the last segment
    ],
)
def test_an_endpoint_fastapi_must_read_for_cannot_be_hot(endpoint: Callable[..., Any], path: str) -> None:
    app = _app_with(endpoint, path)
    with pytest.raises(ValueError, match=r"hot|query|segment"):
        HotRoutes(app, app, [endpoint], {"principal": PRINCIPAL_KEY})


def test_a_parameter_another_route_shares_cannot_be_hot() -> None:
    app = _app_with(_fine, "/a/{imp_uid}")
    app.get("/a/{other}")(_wants_more)
    with pytest.raises(ValueError, match="same place"):
        HotRoutes(app, app, [_fine], {"principal": PRINCIPAL_KEY})


def test_literal_routes_in_the_parameter_s_place_stay_theirs() -> None:
    app = _app_with(_fine, "/a/{imp_uid}")
    app.get("/a/literal")(_wants_more)
    hot = HotRoutes(app, app, [_fine], {"principal": PRINCIPAL_KEY})
    scope = {"type": "http", "method": "GET", "query_string": b""}
    assert hot._match({**scope, "path": "/a/literal"}) is None
    assert hot._match({**scope, "path": "/a/imp_1"}) is not None
    assert hot._match({**scope, "path": "/a/imp_1", "query_string": b"x=1"}) is None


async def _reads_its_path(request: Request) -> Response:
    return Response(request.path_params["key"])


async def test_a_path_parameter_the_endpoint_reads_from_the_request_is_given(solved: list[str]) -> None:
    app = FastAPI()
    app.post("/b/{key}")(_reads_its_path)
    app.add_middleware(HotRoutes, fastapi=app, endpoints=[_reads_its_path])
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as http:
        assert (await http.post("/b/k_1")).text == "k_1"
        assert solved == []


async def test_under_a_mount_the_path_is_read_below_it(solved: list[str]) -> None:
    """The sandbox PG is mounted at /sandbox/toss: its charges are hot there too."""
    inner = _app_with(_wants_more, "/v1/thing")
    inner.add_middleware(HotRoutes, fastapi=inner, endpoints=[_wants_more])
    outer = FastAPI()
    outer.mount("/sandbox/toss", inner)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=outer), base_url="http://t") as http:
        assert (await http.get("/sandbox/toss/v1/thing")).text == "1"
        assert solved == []
        assert (await http.get("/sandbox/toss/v1/thing?other=2")).text == "2"  # a query: FastAPI's
        assert solved == ["/sandbox/toss/v1/thing"]
