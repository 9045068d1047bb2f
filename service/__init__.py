"""Composition root: configuration, the Flask application factory (``service.app.create_app``), the
command-line group and the WSGI entry."""
