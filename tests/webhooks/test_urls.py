"""Which webhook URLs can ever be delivered to."""

from __future__ import annotations

import pytest

from tollway.webhooks.urls import url_problem


@pytest.mark.parametrize("url", ["https://shop.example/hook", "http://127.0.0.1:8080/x?a=1"])
def test_absolute_http_urls_are_deliverable(url: str) -> None:
    assert url_problem(url) is None


@pytest.mark.parametrize(
    "url",
    [
        "/relative",
        "javascript:alert(1)",
        "ftp://a.example/",
        "https://",
        "http://a b/",
        "https://a.example/\r\nX: 1",
        "http://a.example:port/",
        "http://a.example:99999/",
    ],
)
def test_urls_no_attempt_can_reach_say_why(url: str) -> None:
    assert url_problem(url)
