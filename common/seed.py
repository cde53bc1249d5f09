"""The demo data of the contract (section 3). Idempotent: run it as often as you like."""

from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from common.db import session_scope
from common.models import Factory, InventoryItem, Part, Role, Supplier, User
from common.security import hash_password

DEMO_PASSWORD = "demo1234"
FACTORIES = ["Rheinstahl Works", "Baltic Paper Mill"]
SUPPLIERS = ["Nordic Bearings AG", "Atlas Industrial Supply"]
# The demo organisations' IANA zones: their users' default zone (set where still unset).
DEMO_TIMEZONE = "Europe/Berlin"
USERS = [
    ("admin@demo.test", "Ada Admin", Role.ADMIN, None, None),
    ("buyer@demo.test", "Bruno Buyer", Role.BUYER, 0, None),
    ("buyer2@demo.test", "Bea Buyer", Role.BUYER, 1, None),
    ("supplier@demo.test", "Sven Supplier", Role.SUPPLIER, None, 0),
    ("supplier2@demo.test", "Sara Supplier", Role.SUPPLIER, None, 1),
]
# They edit their organisation's calendar (issue 25).
MANAGERS = frozenset({"buyer@demo.test", "supplier@demo.test"})
# sku, name, category, (qty, threshold, price, lead days) at supplier 1, then at supplier 2
PARTS = [
    (
        "BRG-6205-2RS",
        "Deep groove ball bearing 6205-2RS",
        "Bearings",
        (120, 20, "7.80", 2),
        (80, 15, "8.40", 3),
    ),
    (
        "BRG-22310-E",
        "Spherical roller bearing 22310 E",
        "Bearings",
        (25, 5, "148.00", 5),
        (30, 5, "139.50", 6),
    ),
    ("SEAL-TC-45x62", "Radial shaft seal TC 45x62x8", "Seals", (300, 50, "2.35", 1), (200, 40, "2.60", 2)),
    ("SEAL-OR-NBR-50", "O-ring kit NBR 70, 50 sizes", "Seals", (40, 10, "24.90", 2), (55, 10, "22.00", 2)),
    ("BLT-SPA-1250", "V-belt SPA 1250", "Belts", (90, 15, "11.20", 2), (60, 10, "10.75", 4)),
    ("BLT-HTD-8M-1200", "Timing belt HTD 8M-1200-30", "Belts", (35, 8, "46.00", 4), (20, 5, "49.90", 3)),
    (
        "FLT-HYD-10U",
        "Hydraulic return filter element 10 um",
        "Filters",
        (70, 12, "31.50", 3),
        (45, 10, "29.80", 3),
    ),
    (
        "FLT-AIR-C30",
        "Compressor air intake filter C30",
        "Filters",
        (50, 10, "18.40", 2),
        (65, 10, "19.10", 2),
    ),
    ("VLV-BALL-DN50", "Ball valve DN50 PN40 stainless", "Valves", (18, 4, "212.00", 7), (22, 4, "198.00", 8)),
    ("VLV-SOL-24V-G12", "Solenoid valve 24V DC G1/2", "Valves", (40, 8, "64.00", 3), (35, 8, "67.50", 3)),
    ("CPL-JAW-L100", "Jaw coupling L100 with spider", "Couplings", (30, 6, "38.00", 3), (26, 6, "36.40", 4)),
    (
        "PMP-MS-1.5",
        "Mechanical seal for centrifugal pump 1.5in",
        "Pumps",
        (16, 4, "89.00", 5),
        (12, 3, "92.00", 5),
    ),
]


def _get_or_create(session: Session, model: type, lookup: dict, **values) -> object:  # type: ignore[type-arg]
    row = session.scalar(select(model).filter_by(**lookup))
    if row is None:
        row = model(**lookup, **values)
        session.add(row)
        session.flush()
    return row


def seed(session: Session) -> None:
    factories = [_get_or_create(session, Factory, {"name": name}) for name in FACTORIES]
    suppliers = [
        _get_or_create(session, Supplier, {"name": name}, reliability_score=80.0) for name in SUPPLIERS
    ]
    for organisation in (*factories, *suppliers):
        if organisation.timezone is None:  # type: ignore[attr-defined]
            organisation.timezone = DEMO_TIMEZONE  # type: ignore[attr-defined]
    password_hash = None
    for email, full_name, role, factory_index, supplier_index in USERS:
        if session.scalar(select(User.id).where(User.email == email)) is not None:
            continue
        password_hash = password_hash or hash_password(DEMO_PASSWORD)
        session.add(
            User(
                email=email,
                password_hash=password_hash,
                full_name=full_name,
                role=role.value,
                factory_id=factories[factory_index].id if factory_index is not None else None,  # type: ignore[attr-defined]
                supplier_id=suppliers[supplier_index].id if supplier_index is not None else None,  # type: ignore[attr-defined]
                is_manager=email in MANAGERS,
            )
        )
    for sku, name, category, *stocks in PARTS:
        part = _get_or_create(session, Part, {"sku": sku}, name=name, category=category)
        for supplier, (qty, threshold, price, lead) in zip(suppliers, stocks, strict=True):
            _get_or_create(
                session,
                InventoryItem,
                {"supplier_id": supplier.id, "part_id": part.id},  # type: ignore[attr-defined]
                quantity=qty,
                low_stock_threshold=threshold,
                unit_price=Decimal(price),
                lead_time_days=lead,
            )


def main() -> None:
    with session_scope() as session:
        seed(session)
    print("Demo data ready: admin@demo.test, buyer@demo.test, supplier@demo.test ... (password demo1234)")


if __name__ == "__main__":
    main()
