"""acting from a notification: actions done on an event's notification, suppliers released from an order"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "event_actions",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "event_id", sa.Integer(), sa.ForeignKey("event_logs.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("action", sa.String(20), nullable=False),
        sa.Column("actor_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("event_id", "action", name="uq_event_actions_event_action"),
    )
    op.create_table(
        "order_exclusions",
        sa.Column("order_id", sa.Integer(), sa.ForeignKey("orders.id", ondelete="CASCADE"), primary_key=True),
        sa.Column(
            "supplier_id", sa.Integer(), sa.ForeignKey("suppliers.id", ondelete="CASCADE"), primary_key=True
        ),
        sa.Column("via", sa.String(20), nullable=False),
        sa.Column("actor_id", sa.Integer(), sa.ForeignKey("users.id", ondelete="SET NULL"), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
    )
    # The inbox tabs and the severity filter, newest first by id.
    op.create_index(
        "ix_notifications_user_category_id", "notifications", ["user_id", "archived", "category", "id"]
    )
    op.create_index(
        "ix_notifications_user_severity_id", "notifications", ["user_id", "archived", "severity", "id"]
    )


def downgrade() -> None:
    op.drop_index("ix_notifications_user_severity_id", table_name="notifications")
    op.drop_index("ix_notifications_user_category_id", table_name="notifications")
    op.drop_table("order_exclusions")
    op.drop_table("event_actions")
