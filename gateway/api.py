from fastapi import APIRouter

from gateway.routers import auth, catalog, events, health, inventory, notifications, orders

api_router = APIRouter(prefix="/api")
for module in (auth, catalog, inventory, orders, events, notifications, health):
    api_router.include_router(module.router)
