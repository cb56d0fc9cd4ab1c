"""Alembic's environment: runs the migrations on the connection and for the events table that
`pipelines.lib.feedback.migrations.upgrade` put in the config's attributes."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from alembic import context
from alembic.runtime.migration import MigrationContext, MigrationInfo

from pipelines.lib.feedback.migrations import version_table

config = context.config
if context.is_offline_mode():
    raise RuntimeError("the feedback store's migrations run on a connection (offline SQL is not supported)")
connection = config.attributes["connection"]
applied: list[str] = config.attributes["applied"]


def _record(ctx: MigrationContext, step: MigrationInfo, heads: Collection[Any], run_args: Mapping[str, Any]) -> None:
    if step.up_revision_id is not None and step.is_upgrade:
        applied.append(step.up_revision_id)


context.configure(
    connection=connection,
    version_table=version_table(config.attributes["table"]),
    on_version_apply=_record,
)
with context.begin_transaction():
    context.run_migrations()
