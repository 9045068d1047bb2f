"""WSGI entry for production servers: ``gunicorn -w 4 -b 0.0.0.0:8000 'service.wsgi:app'``."""

from service.app import create_app

app = create_app()
