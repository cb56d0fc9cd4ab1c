"""An index on (ts, event_id): the order, and the watermark, events are ingested by."""

from __future__ import annotations

from alembic import op

from pipelines.lib.feedback.migrations import events_table

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _names() -> tuple[str, str]:
    table = events_table()
    return table, f"ix_{table}_ts_event_id"


def upgrade() -> None:
    table, index = _names()
    op.create_index(index, table, ["ts", "event_id"])


def downgrade() -> None:
    table, index = _names()
    op.drop_index(index, table_name=table)
