from fastapi import APIRouter

from gateway.errors import COMMON_RESPONSES
from gateway.routers import auth, catalog, events, health, inventory, notifications, orders, users

api_router = APIRouter(prefix="/api", responses=COMMON_RESPONSES)
for module in (auth, users, catalog, inventory, orders, events, notifications, health):
    api_router.include_router(module.router)
