"""Alembic environment for the issuer's tables (version table ``issuer_alembic_version``).

Run through ``issuer.migrate.upgrade(engine)``, which passes the connection in; only the issuer's tables
(``issuer.migrate.issuer_tables``: ``issuer_*``, ``health_*``, ``authority_staff``, ``admin_sessions``) are
considered, so the idp's tables on the shared metadata are left to ``idp.migrate``.
"""

from alembic import context

from issuer.migrate import VERSION_TABLE, issuer_tables
from storage.sql import metadata

OURS = set(issuer_tables())


def include_object(obj, name, type_, reflected, compare_to):
    if type_ == "table":
        return name in OURS and name != VERSION_TABLE
    return True


connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, version_table=VERSION_TABLE,
                  include_object=include_object, render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
