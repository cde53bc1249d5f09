#!/usr/bin/env bash
# `make test`: services, then pytest (unit, API and integration), then the frontend tests.
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/services.sh
./scripts/deploy_tools.sh

export TEST_DATABASE_URL=${TEST_DATABASE_URL:-postgresql+psycopg2://postgres@127.0.0.1:5432/partpulse_test}
export TEST_REDIS_URL=${TEST_REDIS_URL:-redis://127.0.0.1:6379/15}

echo "==> Lock file matches pyproject.toml (uv lock --check)"
.venv/bin/uv lock --check

echo "==> Lint (ruff, mypy)"
.venv/bin/ruff check .
.venv/bin/mypy common gateway workers

# Two lanes (pytest-xdist workers, each with a database, Redis db, logs and
# VAR_DIR of its own: tests/conftest.py). Whole files go to a lane, in the order
# they are collected (--no-loadscope-reorder): a lane runs the in-process API tests
# before the integration files whose session stack (a live celery worker) then
# stays up. TEST_LANES=0 runs everything in this process, in that same order.
TEST_LANES=${TEST_LANES:-2}
lanes=()
if [[ $TEST_LANES != 0 ]]; then
  lanes=(-n "$TEST_LANES" --dist loadfile --no-loadscope-reorder)
fi
echo "==> Python tests (${TEST_LANES} lanes)"
.venv/bin/pytest -q "${lanes[@]}" --durations=15 "$@"  # the slowest tests, to keep `make test` under 20 minutes

if [[ -f frontend/package.json ]]; then
  ./scripts/test_frontend.sh
fi
