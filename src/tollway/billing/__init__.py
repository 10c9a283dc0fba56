"""Billing keys, "again" charges, scheduled payments and the worker that runs them."""
