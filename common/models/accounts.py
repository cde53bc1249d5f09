from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import Boolean, CheckConstraint, Float, ForeignKey, String, false, text
from sqlalchemy.orm import Mapped, mapped_column

from common.models.base import Base, JSONType, UTCDateTime, utcnow


class Role(StrEnum):
    ADMIN = "admin"
    BUYER = "buyer"
    SUPPLIER = "supplier"


class Factory(Base):
    __tablename__ = "factories"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    # IANA zone of the plant (NULL = UTC): the default zone of its users.
    timezone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Supplier(Base):
    __tablename__ = "suppliers"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    reliability_score: Mapped[float] = mapped_column(Float, default=80.0)
    # IANA zone of the company (NULL = UTC): the default zone of its users.
    timezone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    password_hash: Mapped[str] = mapped_column(String(200))
    full_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(20), index=True)
    factory_id: Mapped[int | None] = mapped_column(ForeignKey("factories.id"), index=True)
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("suppliers.id"), index=True)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The last deactivation: tokens issued before it stay refused after a reactivation.
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), nullable=True)
    # Language of notifications and mails (NULL until a sign-in sets it from Accept-Language; mails in en).
    locale: Mapped[str | None] = mapped_column(String(8), nullable=True)
    # IANA zone (NULL = the factory's or supplier's zone, else UTC); see common.i18n.zones.user_zone.
    timezone: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # issue 24: the inbox grouped by order (GET/PUT /api/preferences/).
    group_by_order: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # Quiet hours (issue 25): the weekly e-mail schedule (None = always), whether the
    # organisation's calendar narrows it, and who may edit the organisation's calendar.
    email_schedule: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    follow_organisation_calendar: Mapped[bool] = mapped_column(
        Boolean, default=True, server_default=text("true")
    )
    is_manager: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))


class OrganisationCalendar(Base):
    """A factory's or a supplier's shift calendar (issue 25): weekly, holidays, closed dates."""

    __tablename__ = "organisation_calendars"
    __table_args__ = (
        CheckConstraint("(factory_id IS NULL) <> (supplier_id IS NULL)", name="one_organisation"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    factory_id: Mapped[int | None] = mapped_column(
        ForeignKey("factories.id", ondelete="CASCADE"), unique=True, nullable=True
    )
    supplier_id: Mapped[int | None] = mapped_column(
        ForeignKey("suppliers.id", ondelete="CASCADE"), unique=True, nullable=True
    )
    timezone: Mapped[str] = mapped_column(String(64), default="UTC")
    weekly: Mapped[dict[str, Any] | None] = mapped_column(JSONType, nullable=True)
    holiday_country: Mapped[str | None] = mapped_column(String(8), nullable=True)
    holiday_subdivision: Mapped[str | None] = mapped_column(String(16), nullable=True)
    closed_dates: Mapped[list[str]] = mapped_column(JSONType, default=list)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
