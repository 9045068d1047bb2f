"""WSGI entry for production servers: ``gunicorn -w 4 -b 0.0.0.0:8000 'service.wsgi:app'``.

A refused start (``service.production``, a key that does not open) ends the worker with one line, not a traceback.
"""

from keys import KeysError
from service.app import create_app
from service.config import ConfigError
from service.counter_app import start_status_refresher

try:
    app = create_app()
except (ConfigError, KeysError) as exc:
    raise SystemExit(f"error: {exc}") from None
start_status_refresher(app)  # in every worker; each list is still re-signed once (a file lock)
