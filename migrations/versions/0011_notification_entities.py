"""notifications say what they are about: the event's entity (threads, action states), backfilled in batches
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_BATCH = 10_000


def upgrade() -> None:
    op.add_column("notifications", sa.Column("entity_type", sa.String(20), nullable=True))
    op.add_column("notifications", sa.Column("entity_id", sa.Integer(), nullable=True))
    connection = op.get_bind()
    last = connection.execute(sa.text("SELECT max(id) FROM notifications")).scalar() or 0
    # Short statements over id ranges, so a large table is never locked in one go.
    for start in range(1, last + 1, _BATCH):
        connection.execute(
            sa.text(
                "UPDATE notifications SET"
                " entity_type = (SELECT e.entity_type FROM event_logs e WHERE e.id = notifications.event_id),"
                " entity_id = (SELECT e.entity_id FROM event_logs e WHERE e.id = notifications.event_id)"
                " WHERE id >= :start AND id < :stop"
            ),
            {"start": start, "stop": start + _BATCH},
        )
    op.create_index("ix_notifications_entity", "notifications", ["entity_type", "entity_id"])


def downgrade() -> None:
    op.drop_index("ix_notifications_entity", table_name="notifications")
    op.drop_column("notifications", "entity_id")
    op.drop_column("notifications", "entity_type")
