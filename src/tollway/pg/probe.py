"""Testing a channel's keys with a harmless authenticated call: a lookup of an order that cannot
exist. A PG that knows the keys answers "not found"; one that does not, refuses them. Nothing is
charged, cancelled or created."""

from __future__ import annotations

from dataclasses import dataclass

from tollway.pg.base import PgConnector, PgError, PgNotFound, PgUnknown

PROBE_ORDER = "tollway-channel-check"


@dataclass(frozen=True)
class Probe:
    #: ok | refused (the keys) | unreachable (no answer)
    outcome: str
    code: str
    message: str


async def probe(connector: PgConnector) -> Probe:
    try:
        await connector.get_payment_by_order(PROBE_ORDER)
    except PgNotFound as exc:
        return Probe("ok", exc.code, exc.message)
    except PgUnknown as exc:
        return Probe("unreachable", exc.code, exc.message)
    except PgError as exc:
        return Probe("refused", exc.code, exc.message)
    return Probe("ok", "FOUND", "the PG answered")  # an order with this id exists: the keys work
