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


def when_ready(server) -> None:  # gunicorn's hook, in the master
    """TONGBAN_METRICS_PORT: every worker's metrics (PROMETHEUS_MULTIPROC_DIR) on 127.0.0.1, from the master."""
    from service.config import Settings

    settings = Settings.from_env()
    port = settings.metrics_port
    if port and settings.metrics_multiproc_dir:
        from prometheus_client import CollectorRegistry, multiprocess, start_http_server

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        start_http_server(port, addr="127.0.0.1", registry=registry)


def child_exit(server, worker) -> None:  # gunicorn's hook: a dead worker's live gauges go
    from service.config import Settings

    if Settings.from_env().metrics_multiproc_dir:
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
