"""The payment ledger: V1 payments, their state machine, prepared amounts and lookups."""
