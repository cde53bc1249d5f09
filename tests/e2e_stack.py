"""Run a command against a real stack (uvicorn + celery worker + PostgreSQL + Redis).

Used by `make test` for the browser tests: python -m tests.e2e_stack -- node frontend/tests/e2e/run.mjs
"""

import os
import subprocess
import sys

import tests.conftest as base  # sets the test environment before anything else is imported
from tests.integration.stack import free_port, process_env, start_gateway, start_worker


def main(command: list[str]) -> int:
    import redis

    base._recreate_database(base.TEST_DATABASE_URL)
    result = base.alembic("upgrade", "head")
    if result.returncode != 0:
        print(result.stderr, file=sys.stderr)
        return 1
    redis.Redis.from_url(base.TEST_REDIS_URL).flushdb()
    base.reset_data()
    port = free_port()
    env = process_env()
    gateway = start_gateway("e2e-gateway", port, env)
    worker = start_worker("e2e-worker", env)
    try:
        return subprocess.call(command, env={**os.environ, "BASE_URL": f"http://127.0.0.1:{port}"})
    finally:
        worker.stop()
        gateway.stop()


if __name__ == "__main__":
    args = sys.argv[1:]
    if args[:1] == ["--"]:
        args = args[1:]
    sys.exit(main(args))
