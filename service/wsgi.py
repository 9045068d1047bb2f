"""WSGI entry for production servers: ``gunicorn -w 4 -b 0.0.0.0:8000 'service.wsgi:app'``.

A refused start (``service.production``, a key that does not open) ends the worker with one line, not a traceback.
A store that cannot be reached does not: the worker starts, answers 503 and builds the app once the store is
back (``service.deferred``); a schema behind the code (``tongban migrate`` not run yet) counts the same way.
"""

from keys import KeysError
from service.app import create_app
from service.audit import start_anchoring
from service.config import ConfigError, Settings
from service.counter_app import start_status_refresher
from service.deferred import DeferredApp
from service.logs import configure as configure_logs


def _build():
    built = create_app(settings)
    start_status_refresher(built)  # in every worker; each list is still re-signed once (a file lock)
    start_anchoring(built, settings)  # signed audit anchors (service.audit)
    return built


try:
    settings = Settings.from_env()
    configure_logs(json_lines=settings.log_json, level=settings.log_level)
    app = DeferredApp(_build, retry_after=settings.retry_after)
except (ConfigError, KeysError) as exc:
    raise SystemExit(f"error: {exc}") from None
