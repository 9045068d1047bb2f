"""WSGI entry for production servers: ``gunicorn -w 4 -b 0.0.0.0:8000 'service.wsgi:app'``."""

from service.app import create_app
from service.counter_app import start_status_refresher

app = create_app()
start_status_refresher(app)  # in every worker; each list is still re-signed once (a file lock)
