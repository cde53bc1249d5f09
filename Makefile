# The verbs people type. `make run` and `make test` set everything up themselves.
SHELL := /bin/bash
VENV := .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed
FRONT_STAMP := frontend/node_modules/.installed

.PHONY: run test install frontend lint migrate seed worker beat flower bench capacity clean

$(STAMP): pyproject.toml
	@test -x $(PY) || python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

install: $(STAMP)

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

bench: install
	$(PY) bench/throughput.py

capacity: install
	$(PY) bench/capacity.py

clean:
	rm -rf var frontend/dist test-artifacts
