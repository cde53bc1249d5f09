"""retention: rows that point at an event survive its purge (SET NULL); an index for purging by age
"""
from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, constraint) of every foreign key to event_logs that cascaded a delete.
_TO_EVENTS = (
    ("notifications", "fk_notifications_event_id_event_logs"),
    ("mail_outbox", "fk_mail_outbox_event_id_event_logs"),
    ("mail_digest_items", "fk_mail_digest_items_event_id_event_logs"),
)


def _point_at_events(ondelete: str) -> None:
    for table, name in _TO_EVENTS:
        with op.batch_alter_table(table) as batch:
            if table != "mail_outbox":
                batch.alter_column("event_id", nullable=ondelete == "SET NULL")
            batch.drop_constraint(name, type_="foreignkey")
            batch.create_foreign_key(name, "event_logs", ["event_id"], ["id"], ondelete=ondelete)


def upgrade() -> None:
    # An unread notification outlives its event: purging the event must never
    # change a count (a cascade would delete the row and skip the counters).
    _point_at_events("SET NULL")
    op.create_index("ix_mail_outbox_created", "mail_outbox", ["created_at"])


def downgrade() -> None:
    op.drop_index("ix_mail_outbox_created", table_name="mail_outbox")
    op.execute("DELETE FROM notifications WHERE event_id IS NULL")
    op.execute("DELETE FROM mail_digest_items WHERE event_id IS NULL")
    _point_at_events("CASCADE")
