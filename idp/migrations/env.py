"""Alembic environment for the identity provider's tables (version table ``idp_alembic_version``).

Run through ``idp.migrate.upgrade(engine)``, which passes the connection in; only ``idp_*`` tables are
considered, so other packages' tables on the shared metadata are left to their owners.
"""

from alembic import context

from idp import models
from storage.sql import metadata

_ = models  # registers the idp tables on the shared metadata


def include_object(obj, name, type_, reflected, compare_to):
    if type_ == "table":
        return name.startswith("idp_") and name != "idp_alembic_version"
    return True


connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=metadata, version_table="idp_alembic_version",
                  include_object=include_object, render_as_batch=connection.dialect.name == "sqlite")
with context.begin_transaction():
    context.run_migrations()
