from fastapi import APIRouter

from gateway.routers import auth, catalog, events, health, inventory, notifications, orders, preferences

api_router = APIRouter(prefix="/api")
for module in (auth, catalog, inventory, orders, events, notifications, preferences, health):
    api_router.include_router(module.router)
