from sqlalchemy import func, select
from sqlalchemy.orm import Session

from common.models import Factory, Part, Supplier
from common.services.errors import Conflict, NotFound
from common.services.pagination import PageData, paginate


def list_factories(session: Session, *, limit: int, offset: int) -> PageData[Factory]:
    return paginate(session, select(Factory).order_by(Factory.id), limit=limit, offset=offset)


def create_factory(session: Session, *, name: str) -> Factory:
    _require_unique_name(session, Factory, name, label="factory")
    factory = Factory(name=name)
    session.add(factory)
    session.flush()
    return factory


def list_suppliers(session: Session, *, limit: int, offset: int) -> PageData[Supplier]:
    return paginate(session, select(Supplier).order_by(Supplier.id), limit=limit, offset=offset)


def get_supplier(session: Session, supplier_id: int) -> Supplier:
    supplier = session.get(Supplier, supplier_id)
    if supplier is None:
        raise NotFound(f"Supplier {supplier_id} not found")
    return supplier


def create_supplier(session: Session, *, name: str) -> Supplier:
    _require_unique_name(session, Supplier, name, label="supplier")
    supplier = Supplier(name=name, reliability_score=80.0)
    session.add(supplier)
    session.flush()
    return supplier


def list_parts(session: Session, *, limit: int, offset: int) -> PageData[Part]:
    return paginate(session, select(Part).order_by(Part.name, Part.id), limit=limit, offset=offset)


def create_part(session: Session, *, sku: str, name: str, category: str | None) -> Part:
    if session.scalar(select(func.count()).select_from(Part).where(Part.sku == sku)):
        raise Conflict(f"A part with SKU {sku} already exists")
    part = Part(sku=sku, name=name, category=category)
    session.add(part)
    session.flush()
    return part


def _require_unique_name(
    session: Session, model: type[Factory] | type[Supplier], name: str, *, label: str
) -> None:
    if session.scalar(select(func.count()).select_from(model).where(model.name == name)):
        raise Conflict(f"A {label} named {name!r} already exists")
