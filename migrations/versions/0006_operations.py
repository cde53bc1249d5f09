"""operations: an index for the event log's state filter (newest first by id)

Revision ID: 0006
Revises: 0004
"""
from collections.abc import Sequence

from alembic import op

revision: str = "0006"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index("ix_event_logs_state_id", "event_logs", ["state", "id"])


def downgrade() -> None:
    op.drop_index("ix_event_logs_state_id", table_name="event_logs")
