# The verbs people type. `make run` and `make test` set everything up themselves.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
FRONT_STAMP := frontend/node_modules/.installed

.PHONY: run test install upgrade lock-check frontend lint migrate seed worker beat flower bench capacity clean

UV_VERSION := 0.13.8
UV := $(VENV)/bin/uv

# Exactly the versions in uv.lock (`--frozen`: the lock is used as it is, never
# re-resolved; `uv sync` also removes what the lock does not list).
$(STAMP): pyproject.toml uv.lock
	@test -x $(PY) || python3 -m venv $(VENV)
	@test -x $(UV) || $(PY) -m pip install --quiet uv==$(UV_VERSION)
	$(UV) sync --frozen --extra dev --quiet
	@touch $(STAMP)

install: $(STAMP)

# Is uv.lock still the resolution of pyproject.toml? (CI runs this in `make test`.)
lock-check: $(STAMP)
	$(UV) lock --check

# Newest versions within pyproject.toml's bounds, then the whole suite on them.
upgrade: $(STAMP)
	$(UV) lock --upgrade
	$(UV) sync --frozen --extra dev
	@touch $(STAMP)
	$(MAKE) test

$(FRONT_STAMP): frontend/package.json frontend/package-lock.json
	cd frontend && npm ci --no-audit --no-fund --loglevel=error
	@touch $(FRONT_STAMP)

frontend: $(FRONT_STAMP)
	cd frontend && npm run build

run: install frontend
	./scripts/run.sh

test: install
	./scripts/test.sh

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/mypy common gateway workers

migrate: install
	$(VENV)/bin/alembic upgrade head

seed: install
	$(PY) -m common.seed

worker: install
	$(VENV)/bin/celery -A workers worker --loglevel=INFO

beat: install
	$(VENV)/bin/celery -A workers beat --loglevel=INFO

flower: install
	$(VENV)/bin/celery -A workers flower --conf=$(CURDIR)/flowerconfig.py --port=$${FLOWER_PORT:-5555}

# Issue 26's figures in one sitting: the stack's event paths, the socket path against the
# Node peer, then the targets' table (about 12 minutes; the Node peer's packages from npm).
bench: install
	rm -f var/bench/throughput.json var/bench/socket_peer.json
	$(PY) bench/throughput.py --fan-out --json var/bench/throughput.json
	$(PY) bench/socket_peer.py --json var/bench/socket_peer.json
	$(PY) bench/report.py var/bench/throughput.json var/bench/socket_peer.json

capacity: install
	$(PY) bench/capacity.py

clean:
	rm -rf var frontend/dist test-artifacts
