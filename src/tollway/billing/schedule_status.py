"""A scheduled payment's ``schedule_status`` values (the states are drawn in ``billing.schedules``).

A module of its own so that customers (deleting one revokes its schedules), schedules and the
worker share them without importing one another in a circle."""

from __future__ import annotations

SCHEDULED, EXECUTING, EXECUTED, REVOKED = "scheduled", "executing", "executed", "revoked"
