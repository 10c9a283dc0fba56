"""The shared memory of failed sign-ins (``api.throttle``): one row per scope (an address, a REST
key, a console email), found by the SHA-256 of the scope so that no address or email is stored.

Times are UNIX seconds as floats, so the counting is one ``INSERT … ON CONFLICT DO UPDATE`` with
arithmetic both SQLite and PostgreSQL do the same way.
"""

from __future__ import annotations

from sqlalchemy import Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from tollway.db.models import Base


class AuthFailure(Base):
    __tablename__ = "auth_failures"

    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    window_start: Mapped[float] = mapped_column(Float)
    failures: Mapped[int] = mapped_column(Integer)
    #: refused until then (0: not blocked)
    blocked_until: Mapped[float] = mapped_column(Float)
