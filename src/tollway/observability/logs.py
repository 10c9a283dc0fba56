"""Log output and the request id every line carries.

``configure(fmt, level)`` (called by the ``tollway`` commands that run a server or a worker) sends
structlog's lines (written directly) and the standard library's (uvicorn, httpx, aiohttp: one
handler) to stderr in one format: a readable console format for a terminal, or
``TOLLWAY_LOG_FORMAT=json``, one JSON object per line with ``timestamp``, ``level``, ``logger``,
``event`` and the bound context.

The request id is a context variable (``structlog.contextvars``): bound by the HTTP middleware for
a request (``X-Request-Id`` or a new one), by the worker for each scheduled charge and by the
deliverer for each webhook, it is on every line logged meanwhile, PG calls included, in whichever
library logs it.
"""

from __future__ import annotations

import logging
import re
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import structlog

#: What an incoming ``X-Request-Id`` may be; anything else is replaced (it is logged and echoed).
_VALID_ID = re.compile(r"[A-Za-z0-9._:@/+=-]{1,128}")


def new_request_id(prefix: str = "") -> str:
    return f"{prefix}{uuid.uuid4().hex}"


def accept_request_id(value: str | None) -> str:
    """The caller's id when it is a sane token (a proxy's or a client's), else a new one."""
    if value and _VALID_ID.fullmatch(value):
        return value
    return new_request_id()


def current_request_id() -> str | None:
    value = structlog.contextvars.get_contextvars().get("request_id")
    return value if isinstance(value, str) else None


@contextmanager
def bound(**values: object) -> Iterator[None]:
    """Binds ``values`` (e.g. ``request_id``) to every log line of this task until the block ends."""
    tokens = structlog.contextvars.bind_contextvars(**values)
    try:
        yield
    finally:
        structlog.contextvars.reset_contextvars(**tokens)


class _LineWriter:
    """Where Tollway's own lines go: straight to stderr, one ``write`` per line, named as the
    standard library's loggers are (``add_logger_name`` reads ``name``)."""

    __slots__ = ("name",)

    def __init__(self, name: str = "") -> None:
        self.name = name

    def msg(self, message: str) -> None:
        sys.stderr.write(message + "\n")

    log = debug = info = warn = warning = error = err = critical = exception = fatal = msg


def configure(fmt: str = "console", level: str = "info") -> None:
    """One stream, stderr, for structlog and the standard library, in ``fmt`` (console|json).

    Tollway's own lines (the access log on every request, each PG call) are rendered by structlog
    and written directly: no ``LogRecord``, handler lock or second pass through the processors, a
    tenth of a request's CPU before (docs/benchmarks.md). Other libraries' lines (uvicorn, aiohttp,
    httpx) go through one standard-library handler with the same processors and renderer."""
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: structlog.types.Processor
    if fmt == "json":
        renderer = structlog.processors.JSONRenderer()
        shared.append(structlog.processors.format_exc_info)
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    structlog.configure(
        processors=[*shared, renderer],
        logger_factory=_LineWriter,
        wrapper_class=structlog.make_filtering_bound_logger(logging.getLevelNamesMapping()[level.upper()]),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=[*shared, structlog.stdlib.ExtraAdder()],
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
        )
    )
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level.upper())
    # uvicorn's own handlers would print a second, differently shaped line; its access log is
    # replaced by the middleware's (route templates, no query strings).
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers.clear()
        logger.propagate = True
    logging.getLogger("uvicorn.access").disabled = True
    # httpx logs every request's URL at INFO; the connector logs each PG call itself.
    logging.getLogger("httpx").setLevel(max(logging.WARNING, root.level))
