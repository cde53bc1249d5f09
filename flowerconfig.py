"""Flower's configuration file (`celery -A workers flower` reads ./flowerconfig.py; run.sh,
the Makefile and docker-compose also name it with --conf). Flower never answers without
credentials: FLOWER_BASIC_AUTH, or the one generated under var/ (common/flower_auth.py)."""

from common.config import get_settings
from common.db import set_process_role
from common.flower_auth import flower_basic_auth, guard_open_views

basic_auth = [flower_basic_auth()[0]]
# Flower switches the workers' task events on every 5 s unless told not to
# (CELERY_TASK_EVENTS=0 turns them off for the workers and for Flower alike).
enable_events = get_settings().celery_task_events
guard_open_views()
set_process_role("flower")
