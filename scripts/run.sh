#!/usr/bin/env bash
# `make run`: migrate, seed, then start every process the mode needs, in the
# foreground, until Ctrl-C stops them all.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv/bin
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
FLOWER_PORT=${FLOWER_PORT:-5555}
WORKER_METRICS_PORT=${WORKER_METRICS_PORT:-9808}

if [[ -n "${REDIS_URL:-}" ]]; then
  MODE=distributed
  if [[ -z "${JWT_SECRET:-}" ]]; then
    echo "Distributed mode (REDIS_URL is set) needs JWT_SECRET: export JWT_SECRET=<a long random string>" >&2
    exit 1
  fi
else
  MODE=standalone
  if [[ -n "${DATABASE_URL:-}" ]]; then
    echo "Note: DATABASE_URL is set without REDIS_URL: standalone transports, your database." >&2
  fi
fi

echo "==> Applying migrations"
$VENV/alembic upgrade head
if [[ "${SEED_DEMO:-1}" != "0" ]]; then
  echo "==> Seeding demo data"
  $VENV/python -m common.seed
fi

pids=()
stop_all() {
  trap - INT TERM EXIT
  echo; echo "==> Stopping PartPulse"
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop_all INT TERM EXIT

# A worker that dies is started again after 2 s, as docker-compose's restart
# policy does (kombu can kill a worker's main process when Redis restarts at the
# wrong moment); its events wait in the broker or are redelivered meanwhile.
keep_running() {
  local child status
  trap 'kill -TERM "$child" 2>/dev/null; wait "$child" 2>/dev/null; exit 0' INT TERM
  while true; do
    "$@" &
    child=$!
    status=0
    wait "$child" || status=$?
    echo "==> worker ${*: -3:1} exited (status $status); starting it again in 2 s" >&2
    sleep 2
  done
}

if [[ "$MODE" == distributed ]]; then
  # Two lanes: order events (notifications, matching, scoring) with the periodic checks
  # (escalations, digests: never behind mail), and the bursty bulk work (stock alerts
  # from an ERP import), so an order never waits behind a burst.
  keep_running $VENV/celery -A workers worker -Q notifications,matching,scoring,periodic -n events@%h --concurrency=2 --loglevel=INFO &
  pids+=($!)
  # Three worker hosts on one machine: each serves its metrics on a port of its own.
  keep_running env WORKER_METRICS_PORT=$((WORKER_METRICS_PORT + 1)) \
    $VENV/celery -A workers worker -Q stock -n bulk@%h --concurrency=1 --loglevel=INFO &
  pids+=($!)
  # Mails get a lane of their own: a slow SMTP server delays no notification and no escalation.
  keep_running env WORKER_METRICS_PORT=$((WORKER_METRICS_PORT + 2)) \
    $VENV/celery -A workers worker -Q email -n email@%h --concurrency=2 --loglevel=INFO &
  pids+=($!)
  # Flower never answers without credentials (FLOWER_BASIC_AUTH, or one generated under
  # ./var/ the first time, before Flower starts, so that it is printed once, below).
  FLOWER_LOGIN=$($VENV/python -m common.flower_auth)
  $VENV/celery -A workers flower --conf="$PWD/flowerconfig.py" --port="$FLOWER_PORT" --address="$HOST" &
  pids+=($!)
else
  keep_running $VENV/celery -A workers worker -n standalone@%h --concurrency=2 --loglevel=INFO &
  pids+=($!)
fi
# Celery beat: escalation checks, low-stock digests, the mail outbox sweep (schedule file under var/).
mkdir -p "${VAR_DIR:-var}"
$VENV/celery -A workers beat --loglevel=INFO &
pids+=($!)
# No access log by default: a line per request costs the gateway CPU on the hot
# path (ACCESS_LOG=1 turns it on); the workers log one JSON line per event.
ACCESS_LOG_FLAG=--no-access-log
[[ "${ACCESS_LOG:-0}" == "1" ]] && ACCESS_LOG_FLAG=--access-log
# --http: our protocol class caps request heads (MAX_HEADER_BYTES: 431) and times them out.
$VENV/uvicorn gateway.main:app --host "$HOST" --port "$PORT" --http gateway.http_protocol:GatewayHttpProtocol \
  --ws-per-message-deflate false --no-proxy-headers $ACCESS_LOG_FLAG &
pids+=($!)

echo
echo "==> PartPulse ($MODE) is starting at http://$HOST:$PORT  (API docs: http://$HOST:$PORT/docs)"
if [[ "$MODE" == distributed ]]; then
  echo "    Flower: http://$HOST:$FLOWER_PORT"
  echo "$FLOWER_LOGIN"
fi
if [[ -z "${SMTP_URL:-}" ]]; then echo "    Mail: SMTP_URL is unset, mails are written to ${VAR_DIR:-var}/mail/*.eml"; fi
echo "    Demo accounts: admin@demo.test / buyer@demo.test / supplier@demo.test, password demo1234"
echo "    Press Ctrl-C to stop."
wait -n "${pids[@]}" || true
