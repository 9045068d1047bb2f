"""WSGI entry for production servers: ``gunicorn -w 4 -b 0.0.0.0:8000 'service.wsgi:app'``.

A refused start (``service.production``, a key that does not open) ends the worker with one line, not a traceback.
A store that cannot be reached does not: the worker starts, answers 503 and builds the app once the store is
back (``service.deferred``); a schema behind the code (``tongban migrate`` not run yet) counts the same way.
"""

from keys import KeysError
from service.app import create_app
from service.config import ConfigError, Settings
from service.deferred import DeferredApp
from service.logs import configure as configure_logs
from service.worker import start_background


def _build():
    built = create_app(settings)
    if settings.background_jobs:  # status lists re-signed in time, audit anchors: one elected process runs them
        start_background(built, settings)
    return built


try:
    settings = Settings.from_env()
    configure_logs(json_lines=settings.log_json, level=settings.log_level)
    app = DeferredApp(_build, retry_after=settings.retry_after)
except (ConfigError, KeysError) as exc:
    raise SystemExit(f"error: {exc}") from None
