"""``tongban serve``: the development server around ``create_app`` (production: gunicorn, see README)."""

from __future__ import annotations

import click


@click.command()
@click.option("--data", "data_dir", type=click.Path(file_okay=False), help="data directory (default $TONGBAN_DATA)")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=click.IntRange(1, 65535))
@click.option("--tls", is_flag=True, help="serve HTTPS with a self-signed development certificate (kept in the data "
              "directory, its fingerprint printed): a phone allows the camera and passkeys only on HTTPS")
def serve(data_dir: str | None, host: str, port: int, tls: bool) -> None:
    """Run the identity provider (and the other web parts) on HOST:PORT."""
    from dataclasses import replace

    from service.app import create_app
    from service.config import Settings
    from service.logs import configure as configure_logs
    from service.worker import start_background

    settings = Settings.from_env(data_dir)
    configure_logs(json_lines=settings.log_json, level=settings.log_level)
    shown = "127.0.0.1" if host in ("0.0.0.0", "::") else host  # noqa: S104 - comparing, not binding
    if settings.issuer_url == "http://127.0.0.1:8000" and ((host, port) != ("127.0.0.1", 8000) or tls):
        settings = replace(settings, issuer_url=f"{'https' if tls else 'http'}://{shown}:{port}")
    ssl_context = None
    if tls:
        from keys.dev_tls import dev_certificate

        names = list(dict.fromkeys([shown, "127.0.0.1", "localhost", *([_lan_address()] if host == "0.0.0.0" else [])]))  # noqa: S104
        cert, key, fingerprint = dev_certificate(settings.data_dir / "dev-tls", names)
        ssl_context = (str(cert), str(key))
        click.echo(f"development certificate for {', '.join(names)} (self-signed, {cert}); when the browser asks, "
                   f"compare its SHA-256 fingerprint:\n  {fingerprint}")
    app = create_app(settings)
    if settings.background_jobs:  # status lists expire within minutes: re-sign them before they do (service.worker)
        start_background(app, settings)
    click.echo(f"tongban identity provider at {settings.issuer_url} (data in {settings.data_dir})")
    app.run(host=host, port=port, threaded=True, ssl_context=ssl_context)


def _lan_address() -> str:
    """This machine's address on its local network (the one a phone on the same Wi-Fi reaches), without sending."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: no packet leaves; the OS picks the outgoing interface
            return probe.getsockname()[0]
        except OSError:
            return "127.0.0.1"
