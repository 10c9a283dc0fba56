"""PG connectors: the only code that talks to a payment gateway (``base`` is the interface)."""
