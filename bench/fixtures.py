"""What the in-process bench scripts (hot_path.py, worker_batch.py) start from."""

import subprocess
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, select, text


def fresh_database(pg_base: str, name: str, tree: Path) -> None:
    """Drop and create database `name`, then migrate and seed it with `tree`'s code."""
    admin = create_engine(f"{pg_base}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()
    for command in (["-m", "alembic", "upgrade", "head"], ["-m", "common.seed"]):
        subprocess.run([sys.executable, *command], cwd=tree, check=True, capture_output=True)


def demo_order(sessions: Any, status: str = "PLACED") -> tuple[int, int]:
    """(the demo admin's id, a new order of the demo buyer's, in `status`)."""
    from common.models import Order, User

    with sessions() as session:
        admin_id = session.scalar(select(User.id).where(User.email == "admin@demo.test"))
        buyer = session.scalars(select(User).where(User.email == "buyer@demo.test")).one()
        order = Order(factory_id=buyer.factory_id, buyer_id=buyer.id, status=status)
        session.add(order)
        session.commit()
        assert admin_id and order.id
        return admin_id, order.id
