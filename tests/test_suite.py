"""The suite's own guard: a PostgreSQL cluster with no free slot is named in one line."""

from __future__ import annotations

import asyncpg
import pytest
from sqlalchemy.exc import DBAPIError

from tests.conftest import _too_many_connections


def _wrapped() -> BaseException:
    """What a test sees when the pool cannot connect: SQLAlchemy's error around the driver's."""
    try:
        try:
            raise asyncpg.TooManyConnectionsError("sorry, too many clients already")
        except asyncpg.TooManyConnectionsError as driver:
            raise DBAPIError("SELECT 1", None, driver) from driver
    except DBAPIError as exc:
        return exc


@pytest.mark.parametrize(
    ("error", "full"),
    [
        (asyncpg.TooManyConnectionsError("sorry, too many clients already"), True),
        (_wrapped(), True),
        (asyncpg.PostgresError("something else"), False),
        (RuntimeError("unrelated"), False),
    ],
)
def test_a_full_cluster_is_recognised_through_its_wrappers(error: BaseException, full: bool) -> None:
    assert _too_many_connections(error) is full
