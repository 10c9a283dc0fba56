"""The gateway as uvicorn imports it for benchmarks: settings from ``TOLLWAY_*``, and the log set up
as ``tollway serve`` sets it up (``TOLLWAY_LOG_FORMAT``), so the access log costs what it costs there."""

from tollway.app import create_app
from tollway.config import Settings
from tollway.observability.logs import configure

settings = Settings()
configure(settings.log_format, settings.log_level)
app = create_app(settings)
