"""``logs.configure``: Tollway's lines and other libraries' share one stream and one format, each
line whole, the level applied to both (run in a child process: it configures global logging)."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

SCRIPT = """
import logging, structlog
from tollway.observability.logs import bound, configure
configure({fmt!r}, "info")
log = structlog.get_logger("tollway.test")
with bound(request_id="req-1"):
    log.info("ours", amount=1000)
    log.debug("hidden")
    logging.getLogger("uvicorn.error").info("theirs %s", "arg")
    logging.getLogger("uvicorn.error").debug("hidden too")
try:
    raise ValueError("boom")
except ValueError:
    log.exception("failed")
"""


def run(fmt: str) -> tuple[str, str]:
    done = subprocess.run([sys.executable, "-c", SCRIPT.format(fmt=fmt)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout, done.stderr


def test_json_lines_from_both_carry_level_logger_and_request_id() -> None:
    out, err = run("json")
    assert out == ""  # stdout is the banner's, never the log's
    lines = [json.loads(line) for line in err.splitlines()]
    ours, theirs, failed = lines
    assert (ours["event"], ours["level"], ours["logger"], ours["request_id"], ours["amount"]) == (
        "ours",
        "info",
        "tollway.test",
        "req-1",
        1000,
    )
    assert (theirs["event"], theirs["logger"], theirs["request_id"]) == ("theirs arg", "uvicorn.error", "req-1")
    assert ours["timestamp"].endswith("Z") and theirs["timestamp"].endswith("Z")
    assert failed["level"] == "error" and "ValueError: boom" in failed["exception"]


@pytest.mark.parametrize("fmt", ["console"])
def test_console_lines_are_one_per_event(fmt: str) -> None:
    _, err = run(fmt)
    assert "hidden" not in err
    first, second = err.splitlines()[:2]
    assert "ours" in first and "request_id=req-1" in first and "tollway.test" in first
    assert "theirs arg" in second and "uvicorn.error" in second
    assert "ValueError: boom" in err
