"""Merchants, their REST key pairs and access tokens, and their PG channels ("PG settings")."""
