"""inbox features: archive, preferences, idempotency keys, cursor indexes

Revision ID: 0003
Revises: 0002
"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from common.models.base import JSONType, UTCDateTime

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("notifications") as batch:
        batch.add_column(sa.Column("archived", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch.add_column(sa.Column("archived_at", UTCDateTime(), nullable=True))
    # The unread count leaves archived rows out.
    op.drop_index("ix_notifications_user_unread", table_name="notifications")
    op.create_index(
        "ix_notifications_user_unread",
        "notifications",
        ["user_id"],
        postgresql_where=sa.text("NOT is_read AND NOT archived"),
        sqlite_where=sa.text("NOT is_read AND NOT archived"),
    )
    op.create_index("ix_notifications_user_archived_id", "notifications", ["user_id", "archived", "id"])
    op.create_index("ix_event_logs_type_id", "event_logs", ["event_type", "id"])

    op.create_table(
        "notification_preferences",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("event_type", sa.String(length=40), nullable=False),
        sa.Column("in_app", sa.Boolean(), nullable=True),
        sa.Column("email", sa.Boolean(), nullable=True),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_notification_preferences_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "event_type", name=op.f("pk_notification_preferences")),
    )
    op.create_table(
        "idempotency_keys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("claim_token", sa.String(length=32), nullable=False),
        sa.Column("locked_until", UTCDateTime(), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_body", JSONType, nullable=True),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_idempotency_keys_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idempotency_keys")),
        sa.UniqueConstraint("user_id", "key", name="uq_idempotency_keys_user_key"),
    )


def downgrade() -> None:
    op.drop_table("idempotency_keys")
    op.drop_table("notification_preferences")
    op.drop_index("ix_event_logs_type_id", table_name="event_logs")
    op.drop_index("ix_notifications_user_archived_id", table_name="notifications")
    op.drop_index("ix_notifications_user_unread", table_name="notifications")
    op.create_index(
        "ix_notifications_user_unread",
        "notifications",
        ["user_id"],
        postgresql_where=sa.text("NOT is_read"),
        sqlite_where=sa.text("NOT is_read"),
    )
    with op.batch_alter_table("notifications") as batch:
        batch.drop_column("archived_at")
        batch.drop_column("archived")
