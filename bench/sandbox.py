"""The sandbox PG alone, as uvicorn imports it for ``bench.run --separate-sandbox``."""

from tollway.app import create_sandbox_only_app
from tollway.config import Settings

app = create_sandbox_only_app(Settings())
