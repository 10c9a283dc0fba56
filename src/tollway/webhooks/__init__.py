"""Notifications to merchants (V1 webhooks, signed, retried, logged, replayable) and PG webhooks in."""
