"""Composition root: configuration, the command-line group and (later) the Flask application factory."""
