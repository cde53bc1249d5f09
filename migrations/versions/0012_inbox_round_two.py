"""inbox round two: positions, snoozes, resurfacing, search, group by order

Rows that exist keep position NULL (they sort by id) and are already seen
(migration 0009 made them so).
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_SEARCH = "to_tsvector('simple'::regconfig, (title::text || ' '::text) || message)"


def upgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("position", sa.BigInteger(), nullable=True))
        batch.add_column(sa.Column("snoozed_until", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("resurfaced_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("group_by_order", sa.Boolean(), server_default=sa.false(), nullable=False))
    op.create_index(
        "ix_notifications_user_position",
        "notifications",
        ["user_id", "archived", sa.text("coalesce(position, id)")],
        postgresql_where=sa.text("snoozed_until IS NULL"),
        sqlite_where=sa.text("snoozed_until IS NULL"),
    )
    op.create_index("ix_notifications_user_thread", "notifications", ["user_id", "entity_type", "entity_id"])
    op.create_index(
        "ix_notifications_snoozed_until",
        "notifications",
        ["snoozed_until", "user_id"],
        postgresql_where=sa.text("snoozed_until IS NOT NULL"),
        sqlite_where=sa.text("snoozed_until IS NOT NULL"),
    )
    if op.get_bind().dialect.name == "postgresql":
        op.create_index("ix_notifications_search", "notifications", [sa.text(_SEARCH)], postgresql_using="gin")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index("ix_notifications_search", table_name="notifications")
    op.drop_index("ix_notifications_snoozed_until", table_name="notifications")
    op.drop_index("ix_notifications_user_thread", table_name="notifications")
    op.drop_index("ix_notifications_user_position", table_name="notifications")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("group_by_order")
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("resurfaced_at")
        batch.drop_column("snoozed_until")
        batch.drop_column("position")
