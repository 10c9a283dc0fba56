"""Toss Payments core API v1: wire types and conversions (``wire``, ``codes``, ``errors``) kept
apart from the HTTP calls (``connector``)."""
