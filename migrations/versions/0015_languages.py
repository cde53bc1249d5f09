"""languages and time zones: a user's locale and timezone, a factory's and a supplier's timezone;
a notification's message key and params"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from common.models.base import JSONType

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Nullable columns without defaults: no table rewrite, existing rows read as "not chosen".
    op.add_column("users", sa.Column("locale", sa.String(8), nullable=True))
    op.add_column("users", sa.Column("timezone", sa.String(64), nullable=True))
    op.add_column("factories", sa.Column("timezone", sa.String(64), nullable=True))
    op.add_column("suppliers", sa.Column("timezone", sa.String(64), nullable=True))
    # Rows written before keep their stored text (NULL key).
    op.add_column("notifications", sa.Column("message_key", sa.String(80), nullable=True))
    op.add_column("notifications", sa.Column("params", JSONType, nullable=True))


def downgrade() -> None:
    for table, columns in (
        ("notifications", ["params", "message_key"]),
        ("suppliers", ["timezone"]),
        ("factories", ["timezone"]),
        ("users", ["timezone", "locale"]),
    ):
        with op.batch_alter_table(table) as batch:  # SQLite: a table copy where DROP COLUMN is missing
            for column in columns:
                batch.drop_column(column)
