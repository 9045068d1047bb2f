"""``tongban serve``: the development server around ``create_app`` (production: gunicorn, see README)."""

from __future__ import annotations

import click


@click.command()
@click.option("--data", "data_dir", type=click.Path(file_okay=False), help="data directory (default $TONGBAN_DATA)")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
def serve(data_dir: str | None, host: str, port: int) -> None:
    """Run the identity provider (and the other web parts) on HOST:PORT."""
    from dataclasses import replace

    from service.app import create_app
    from service.config import Settings
    from service.logs import configure as configure_logs
    from service.worker import start_background

    settings = Settings.from_env(data_dir)
    configure_logs(json_lines=settings.log_json, level=settings.log_level)
    if settings.issuer_url == "http://127.0.0.1:8000" and (host, port) != ("127.0.0.1", 8000):
        shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104 - comparing, not binding
        settings = replace(settings, issuer_url=f"http://{shown}:{port}")
    app = create_app(settings)
    if settings.background_jobs:  # status lists expire within minutes: re-sign them before they do (service.worker)
        start_background(app, settings)
    click.echo(f"tongban identity provider at {settings.issuer_url} (data in {settings.data_dir})")
    app.run(host=host, port=port, threaded=True)
