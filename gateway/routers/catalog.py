from fastapi import APIRouter, status

from common.schemas.base import Page
from common.schemas.catalog import FactoryOut, NamedCreate, PartCreate, PartOut, SupplierOut
from common.services import catalog
from gateway.deps import AdminUser, CurrentUser, Limit, Offset, SessionDep

router = APIRouter(tags=["reference data"])


@router.get("/factories/", response_model=Page[FactoryOut])
def list_factories(session: SessionDep, _user: CurrentUser, limit: Limit = 20, offset: Offset = 0):
    return catalog.list_factories(session, limit=limit, offset=offset)


@router.post("/factories/", response_model=FactoryOut, status_code=status.HTTP_201_CREATED)
def create_factory(body: NamedCreate, session: SessionDep, _admin: AdminUser):
    return catalog.create_factory(session, name=body.name)


@router.get("/suppliers/", response_model=Page[SupplierOut])
def list_suppliers(session: SessionDep, _user: CurrentUser, limit: Limit = 20, offset: Offset = 0):
    return catalog.list_suppliers(session, limit=limit, offset=offset)


@router.get("/suppliers/{supplier_id}", response_model=SupplierOut)
def get_supplier(supplier_id: int, session: SessionDep, _user: CurrentUser):
    return catalog.get_supplier(session, supplier_id)


@router.post("/suppliers/", response_model=SupplierOut, status_code=status.HTTP_201_CREATED)
def create_supplier(body: NamedCreate, session: SessionDep, _admin: AdminUser):
    return catalog.create_supplier(session, name=body.name)


@router.get("/parts/", response_model=Page[PartOut])
def list_parts(session: SessionDep, _user: CurrentUser, limit: Limit = 20, offset: Offset = 0):
    return catalog.list_parts(session, limit=limit, offset=offset)


@router.post("/parts/", response_model=PartOut, status_code=status.HTTP_201_CREATED)
def create_part(body: PartCreate, session: SessionDep, _admin: AdminUser):
    return catalog.create_part(session, sku=body.sku, name=body.name, category=body.category)
