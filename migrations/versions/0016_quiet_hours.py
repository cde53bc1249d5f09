"""quiet hours: users' e-mail schedules and manager flag, organisations' calendars, held mails"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")
_HELD = sa.text("state = 'HELD'")


def upgrade() -> None:
    with op.batch_alter_table("users") as batch:
        batch.add_column(sa.Column("email_schedule", _JSON, nullable=True))
        batch.add_column(
            sa.Column("follow_organisation_calendar", sa.Boolean(), nullable=False, server_default=sa.true())
        )
        batch.add_column(sa.Column("is_manager", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.create_table(
        "organisation_calendars",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("factory_id", sa.Integer(), nullable=True),
        sa.Column("supplier_id", sa.Integer(), nullable=True),
        sa.Column("timezone", sa.String(64), nullable=False),
        sa.Column("weekly", _JSON, nullable=True),
        sa.Column("holiday_country", sa.String(8), nullable=True),
        sa.Column("holiday_subdivision", sa.String(16), nullable=True),
        sa.Column("closed_dates", _JSON, nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(factory_id IS NULL) <> (supplier_id IS NULL)",
            name=op.f("ck_organisation_calendars_one_organisation"),
        ),
        sa.ForeignKeyConstraint(
            ["factory_id"],
            ["factories.id"],
            name="fk_organisation_calendars_factory_id_factories",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["supplier_id"],
            ["suppliers.id"],
            name="fk_organisation_calendars_supplier_id_suppliers",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("factory_id", name="uq_organisation_calendars_factory_id"),
        sa.UniqueConstraint("supplier_id", name="uq_organisation_calendars_supplier_id"),
    )
    with op.batch_alter_table("mail_outbox") as batch:
        batch.add_column(sa.Column("not_before", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("merged_into_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_mail_outbox_merged_into_id_mail_outbox",
            "mail_outbox",
            ["merged_into_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.create_index(
        "ix_mail_outbox_held", "mail_outbox", ["not_before"], postgresql_where=_HELD, sqlite_where=_HELD
    )


def downgrade() -> None:
    # Held mails go out at once rather than never; merged ones stay merged (their bundle carries them).
    op.execute("UPDATE mail_outbox SET state = 'PENDING' WHERE state = 'HELD'")
    op.execute("UPDATE mail_outbox SET state = 'SENT' WHERE state = 'MERGED'")
    op.drop_index("ix_mail_outbox_held", table_name="mail_outbox")
    with op.batch_alter_table("mail_outbox") as batch:
        batch.drop_constraint("fk_mail_outbox_merged_into_id_mail_outbox", type_="foreignkey")
        batch.drop_column("merged_into_id")
        batch.drop_column("not_before")
    op.drop_table("organisation_calendars")
    with op.batch_alter_table("users") as batch:
        batch.drop_column("is_manager")
        batch.drop_column("follow_organisation_calendar")
        batch.drop_column("email_schedule")
