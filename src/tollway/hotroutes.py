"""The hottest calls, served without FastAPI's per-request routing and dependency machinery.

A lookup spent about a third of its CPU between ``AuthenticateFirst`` and its own endpoint: the
router walking every route, ``solve_dependencies`` introspecting three dependencies, two exit
stacks, the exception middleware (docs/benchmarks.md, issue 16's third pass). For a few endpoints
whose dependencies are only the request, the services and the caller (which ``AuthenticateFirst``
has already resolved and left in the scope), all of that decides nothing. ``HotRoutes`` calls those
endpoints, the very functions FastAPI would call, directly. The gateway uses it for its V1 calls
(``app.HOT_ENDPOINTS``), the sandbox PG for its charges (``sandbox.app``).

It only takes a request FastAPI would have sent to the same endpoint with the same arguments:

- the method and path match the route exactly (a path parameter only where no other route of that
  method has a literal segment in its place, and only when the route's own validation accepts it);
- there is no query string (a query parameter keeps its default only when none is sent);
- every value the endpoint takes from the scope is there (the gateway's principal: under a V1
  prefix, ``AuthenticateFirst`` has left it).

Everything else (a query, an invalid path parameter, any other route) goes through FastAPI as
before, so its validation errors stay the ones FastAPI gives. A ``TollwayError`` (or any exception
with a handler of its own) is answered by the app's handler for it; anything else propagates to
the same server-error handler as before. The access log and the metrics name the same route.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from fastapi.telemetry import TelemetryConfig
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

if TYPE_CHECKING:
    from fastapi._compat import ModelField

Endpoint = Callable[..., Awaitable[Response]]
#: FastAPI's OpenTelemetry hooks, off: Tollway exports Prometheus metrics and its own access log, and
#: the hooks only looked up the (absent) providers on every request, 4% of a lookup's CPU
NO_TELEMETRY: TelemetryConfig = {"tracing": False, "metrics": False, "logs": False, "operation_spans": False}


@dataclass(frozen=True)
class _Hot:
    route: APIRoute
    endpoint: Endpoint
    wants: frozenset[str]
    #: the path parameter's name, if the path has one
    param: str | None = None
    #: its validator (FastAPI's own field), if the endpoint takes it as an argument
    field: ModelField | None = None


def _all_routes(routes: Iterable[BaseRoute]) -> Iterator[BaseRoute]:
    """Every route, including those of included routers (FastAPI keeps them nested)."""
    for route in routes:
        original = getattr(route, "original_router", None)
        if original is not None:
            yield from _all_routes(original.routes)
        else:
            yield route


class HotRoutes:
    """A pure ASGI middleware: the innermost, so every outer one (headers, path, throttle, the
    access log and metrics, authentication) still applies to a hot call."""

    def __init__(
        self,
        app: ASGIApp,
        fastapi: FastAPI,
        endpoints: Iterable[Endpoint],
        from_scope: Mapping[str, str] | None = None,
    ) -> None:
        """``from_scope``: parameters read from the ASGI scope (name → scope key); without the key
        in the scope the call goes through FastAPI. Besides those an endpoint may take ``request``,
        ``services`` (the app's), one last-segment path parameter and queries with defaults."""
        self.app = app
        self.fastapi = fastapi
        self.from_scope = dict(from_scope or {})
        self.given = frozenset({"request", "services", *self.from_scope})
        self.exact: dict[tuple[str, str], _Hot] = {}
        #: (method, path prefix up to the parameter) → the route; with the literal segments other
        #: routes of that method have in the parameter's place, which stay FastAPI's
        self.prefixed: dict[tuple[str, str], tuple[_Hot, frozenset[str]]] = {}
        routes = [r for r in _all_routes(fastapi.router.routes) if isinstance(r, APIRoute)]
        for endpoint in endpoints:
            self._add(endpoint, routes)

    def _add(self, endpoint: Endpoint, routes: list[APIRoute]) -> None:
        matches = [r for r in routes if r.endpoint is endpoint]
        if len(matches) != 1 or len(matches[0].methods or ()) != 1:
            raise ValueError(f"{endpoint.__name__}: not one route with one method")
        route = matches[0]
        (method,) = route.methods or {""}
        dependant = route.dependant
        if dependant.body_params or dependant.header_params or dependant.cookie_params:
            raise ValueError(f"{route.path}: FastAPI reads its body or headers; it cannot be hot")
        names = set(inspect.signature(endpoint).parameters)
        # The path's parameters as Starlette's routing reads them, whether or not the endpoint
        # takes them as arguments (the sandbox's read ``request.path_params``)
        paths = list(route.param_convertors)
        queries = {p.name for p in dependant.query_params}
        if any(p.field_info.is_required() for p in dependant.query_params):
            raise ValueError(f"{route.path}: a required query parameter")
        wants = frozenset(names - set(paths) - queries)
        if not wants <= self.given or len(paths) > 1:
            raise ValueError(f"{route.path}: parameters {sorted(wants - self.given)} are not given to hot routes")
        if not paths:
            self.exact[(method, route.path)] = _Hot(route, endpoint, wants)
            return
        prefix, _, rest = route.path.partition("{")
        if rest != f"{paths[0]}}}" or not prefix.endswith("/"):  # a typed {name:int} or {name:path} too
            raise ValueError(f"{route.path}: only a last-segment parameter can be hot")
        fields = {p.name: p for p in dependant.path_params}
        literals = set()
        for other in routes:
            if other is route or method not in (other.methods or ()) or not other.path.startswith(prefix):
                continue
            tail = other.path[len(prefix) :]
            if "/" in tail:
                continue
            if "{" in tail:
                raise ValueError(f"{route.path}: {other.path} takes the same place")
            literals.add(tail)
        hot = _Hot(route, endpoint, wants, paths[0], fields.get(paths[0]))
        self.prefixed[(method, prefix)] = (hot, frozenset(literals))

    def _match(self, scope: Scope) -> tuple[_Hot, str | None] | None:
        if scope["type"] != "http" or scope.get("query_string"):
            return None
        method: str = scope["method"]
        path: str = scope["path"]
        root: str = scope.get("root_path", "")
        if root and path.startswith(root):  # under a Mount, as Starlette's routing reads it
            path = path[len(root) :]
        hot = self.exact.get((method, path))
        if hot is not None:
            return hot, None
        prefix, _, last = path.rpartition("/")
        entry = self.prefixed.get((method, prefix + "/"))
        if entry is None:
            return None
        hot, literals = entry
        if not last or last in literals:
            return None
        if hot.field is not None:
            _, errors = hot.field.validate(last, {}, loc=("path", hot.field.name))
            if errors:
                return None
        return hot, last

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        matched = self._match(scope)
        if matched is None:
            await self.app(scope, receive, send)
            return
        hot, value = matched
        kwargs: dict[str, Any] = {}
        for name, key in self.from_scope.items():
            if name in hot.wants:
                value_in_scope = scope.get(key)
                if value_in_scope is None:  # e.g. no principal outside a V1 prefix: FastAPI checks
                    await self.app(scope, receive, send)
                    return
                kwargs[name] = value_in_scope
        scope["route"] = hot.route
        scope["endpoint"] = hot.endpoint
        request = Request(scope, receive, send)
        if "request" in hot.wants:
            kwargs["request"] = request
        if "services" in hot.wants:
            kwargs["services"] = self.fastapi.state.services
        if hot.param is not None:
            scope["path_params"] = {hot.param: value}
            if hot.field is not None:
                kwargs[hot.param] = value
        try:
            response = await hot.endpoint(**kwargs)
        except Exception as exc:
            handler = self._handler(exc)
            if handler is None:
                raise
            response = await handler(request, exc)
        await response(scope, receive, send)

    def _handler(self, exc: Exception) -> Callable[[Request, Exception], Awaitable[Response]] | None:
        """The app's own handler for ``exc``, as FastAPI's exception middleware finds it; not the
        catch-all (``Exception``), which the server-error middleware outside runs, as before."""
        for cls in type(exc).__mro__:
            if cls is Exception:
                return None
            handler = self.fastapi.exception_handlers.get(cls)
            if handler is not None:
                return handler  # type: ignore[return-value]
        return None
