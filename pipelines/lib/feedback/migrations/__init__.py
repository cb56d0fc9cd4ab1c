"""The feedback store's schema, versioned: Alembic migrations shipped in the package and run from
code (no alembic.ini for users to keep).

The events table's name is the spec's (`feedback.store.table`): it reaches the migrations through
`Config.attributes`, and each events table keeps its own version table, `<table>_migrations`, so
that several datasets' tables live in one database and migrate independently.

A new migration is one more file in `versions/`, named `rNNNN_<what>.py`, with `revision = "NNNN"`
and `down_revision` the previous one; it reads the events table's name with `events_table()`.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from alembic import command, op
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection

#: the folder holding env.py and versions/
SCRIPTS = Path(__file__).resolve().parent


def version_table(table: str) -> str:
    """The table recording which migrations of the events table `table` have run."""
    return f"{table}_migrations"


def models_table(table: str) -> str:
    """The table recording which released dataset version each model version was trained on."""
    return f"{table}_models"


def events_table() -> str:
    """Inside a migration: the events table this run migrates (the spec's `feedback.store.table`)."""
    config = op.get_context().config
    assert config is not None, "migrations run through pipelines.lib.feedback.migrations.upgrade"
    return str(config.attributes["table"])


def _config(connection: Connection | None = None, table: str = "", applied: list[str] | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(SCRIPTS).replace("%", "%%"))
    config.attributes.update(connection=connection, table=table, applied=applied if applied is not None else [])
    return config


@cache
def revisions() -> tuple[str, ...]:
    """Every revision this version of trainset knows, oldest first."""
    scripts = ScriptDirectory.from_config(_config())
    return tuple(reversed([script.revision for script in scripts.walk_revisions()]))


def head() -> str:
    """The newest revision this version of trainset knows."""
    return revisions()[-1]


def upgrade(connection: Connection, table: str) -> list[str]:
    """Bring the events table `table` (and its companions) to `head()` on `connection`, in the
    caller's transaction; returns the revisions applied, oldest first (none when already there)."""
    applied: list[str] = []
    command.upgrade(_config(connection, table, applied), "head")
    return applied


def current(connection: Connection, table: str) -> str | None:
    """The revision the events table `table` is at; None when it was never migrated."""
    context = MigrationContext.configure(connection, opts={"version_table": version_table(table)})
    return context.get_current_revision()
