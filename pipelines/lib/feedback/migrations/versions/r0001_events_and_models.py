"""The events table (the seed's triage_feedback) and the table of model versions.

No CHECK on user_action: applications insert directly, and an unknown action is quarantined at
ingestion (with its reason), not refused by the database while a ticket is being routed.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from pipelines.lib.feedback.migrations import events_table, models_table

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    table = events_table()
    # Ties in ts are broken by event_id in byte order, as in SQLite, whatever the server's collation.
    event_id = sa.Text().with_variant(sa.Text(collation="C"), "postgresql")
    op.create_table(
        table,
        sa.Column("event_id", event_id, primary_key=True),
        sa.Column("ticket_id", sa.Text, nullable=False),
        sa.Column("model_version", sa.Text, nullable=False),
        sa.Column("predicted_category", sa.Text, nullable=False),
        sa.Column("final_category", sa.Text, nullable=True),
        sa.Column("user_action", sa.Text, nullable=False),
        sa.Column("consent_flag", sa.Boolean(create_constraint=False), nullable=False),
        # SQLite has no time zones: the store writes UTC as 'YYYY-MM-DD HH:MM:SS.ffffff' there.
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        models_table(table),
        sa.Column("model_version", sa.Text, primary_key=True),
        sa.Column("dataset", sa.Text),
        sa.Column("dataset_version", sa.Integer),
        sa.Column("registered_at", sa.DateTime(timezone=True)),
        sa.Column("registered_by", sa.Text),
    )


def downgrade() -> None:
    table = events_table()
    op.drop_table(models_table(table))
    op.drop_table(table)
