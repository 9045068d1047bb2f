"""gunicorn settings for production (``gunicorn -c python:service.gunicorn_conf ... service.wsgi:app``, as the
Dockerfile runs it): gunicorn's own events (boot, worker exits, timeouts) as JSON lines like the service's
(``service.logs``), its access log off (the service writes one ``request`` line per request, with the request id
and the matched route instead of a raw URL whose query can hold codes)."""

logconfig_dict = {
    "version": 1,
    "disable_existing_loggers": False,
    "root": {"level": "INFO", "handlers": []},  # the workers' own handler: service.logs.configure (service.wsgi)
    "loggers": {
        "gunicorn.error": {"level": "INFO", "handlers": ["json"], "propagate": False, "qualname": "gunicorn.error"},
        "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": False, "qualname": "gunicorn.access"},
    },
    "handlers": {"json": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
    "formatters": {"json": {"()": "service.logs.JsonFormatter"}},
}
