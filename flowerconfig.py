"""Flower's configuration file (`celery -A workers flower` reads ./flowerconfig.py; run.sh,
the Makefile and docker-compose also name it with --conf). Flower never answers without
credentials: FLOWER_BASIC_AUTH, or the one generated under var/ (common/flower_auth.py)."""

from common.flower_auth import flower_basic_auth, guard_open_views

basic_auth = [flower_basic_auth()[0]]
guard_open_views()
