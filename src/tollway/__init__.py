"""Tollway: a self-hosted payment gateway that speaks the i'mport (PortOne V1) contract."""

__version__ = "0.1.0"
