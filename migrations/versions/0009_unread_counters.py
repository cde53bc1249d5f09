"""unread counters: totals plus appended changes (O(1) counts, no shared lock); category, severity, seen
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_COUNTERS = ("unread", "unseen", "orders", "stock", "system", "critical", "high", "normal", "low")


def _counter_columns() -> list[sa.Column]:
    return [sa.Column(name, sa.Integer(), server_default="0", nullable=False) for name in _COUNTERS]


def upgrade() -> None:
    # A constant default fills existing rows without rewriting the table; only
    # the rows whose kind differs from it are updated.
    op.add_column("notifications", sa.Column("category", sa.String(10), server_default="orders", nullable=False))
    op.add_column("notifications", sa.Column("severity", sa.String(10), server_default="normal", nullable=False))
    # Rows from before round three count as seen (CONTRACT section 8); new rows start unseen.
    op.add_column("notifications", sa.Column("seen", sa.Boolean(), server_default=sa.true(), nullable=False))
    with op.batch_alter_table("notifications") as batch:
        batch.alter_column("seen", server_default=sa.false())
    op.execute("UPDATE notifications SET category = 'stock' WHERE event_type = 'LOW_STOCK_ALERT'")
    op.execute(
        "UPDATE notifications SET category = 'system' WHERE event_type IN ('MATCHING_FAILED', 'ORDER_ESCALATED')"
    )
    op.execute(
        "UPDATE notifications SET severity = 'critical'"
        " WHERE event_type IN ('MATCHING_FAILED', 'ORDER_CANCELLED', 'ORDER_ESCALATED')"
    )
    op.execute("UPDATE notifications SET severity = 'low' WHERE event_type = 'DELIVERY_COMPLETED'")

    op.create_table(
        "unread_totals",
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        *_counter_columns(),
        sa.Column("version", sa.BigInteger(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("user_id", name="pk_unread_totals"),
    )
    op.create_table(
        "unread_changes",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("user_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=False),
        *_counter_columns(),
        sa.PrimaryKeyConstraint("id", name="pk_unread_changes"),
    )
    op.create_index("ix_unread_changes_user", "unread_changes", ["user_id", "id"])
    # Today's counts become the totals; the version goes on from the old one,
    # so an open client (which keeps the highest version) accepts the next count.
    op.execute(
        """
        INSERT INTO unread_totals (user_id, unread, unseen, orders, stock, system,
                                   critical, high, normal, low, version)
        SELECT u.id,
               count(n.id),
               0,
               count(n.id) FILTER (WHERE n.category = 'orders'),
               count(n.id) FILTER (WHERE n.category = 'stock'),
               count(n.id) FILTER (WHERE n.category = 'system'),
               count(n.id) FILTER (WHERE n.severity = 'critical'),
               count(n.id) FILTER (WHERE n.severity = 'high'),
               count(n.id) FILTER (WHERE n.severity = 'normal'),
               count(n.id) FILTER (WHERE n.severity = 'low'),
               u.unread_version + 1
        FROM users u
        LEFT JOIN notifications n ON n.user_id = u.id AND NOT n.is_read AND NOT n.archived
        GROUP BY u.id, u.unread_version
        """
    )
    with op.batch_alter_table("users") as batch:
        batch.drop_column("unread_version")


def downgrade() -> None:
    op.add_column("users", sa.Column("unread_version", sa.Integer(), server_default="0", nullable=False))
    op.execute(
        "UPDATE users SET unread_version = COALESCE((SELECT t.version + (SELECT count(*) FROM unread_changes c"
        " WHERE c.user_id = users.id) FROM unread_totals t WHERE t.user_id = users.id), 0)"
    )
    op.drop_index("ix_unread_changes_user", table_name="unread_changes")
    op.drop_table("unread_changes")
    op.drop_table("unread_totals")
    op.drop_column("notifications", "seen")
    op.drop_column("notifications", "severity")
    op.drop_column("notifications", "category")
