"""The gateway as uvicorn imports it for benchmarks: settings from ``TOLLWAY_*``."""

from tollway.app import create_app

app = create_app()
