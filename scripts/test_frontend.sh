#!/usr/bin/env bash
# Frontend tests: Vitest, then end to end in Debian's Chromium against the real stack.
set -euo pipefail
cd "$(dirname "$0")/.."

if [[ ! -f frontend/node_modules/.installed || frontend/package-lock.json -nt frontend/node_modules/.installed ]]; then
  (cd frontend && npm ci --no-audit --no-fund --loglevel=error && touch node_modules/.installed)
fi
if [[ ! -x /usr/bin/chromium ]]; then
  echo "==> Installing Debian's Chromium for the browser tests"
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

echo "==> Vitest"
(cd frontend && npx vitest run)
echo "==> Building the web app"
(cd frontend && npm run build --silent)
# One lane per window size, at once: each its own stack (gateway, worker, database,
# Redis db; tests/conftest.py) and its own Chromium, its lines prefixed with its size.
echo "==> Browser end-to-end tests (Chromium, laptop and phone sizes at once)"
browser_lane() {  # lane viewport
  TEST_LANE=$1 E2E_VIEWPORT=$2 .venv/bin/python -m tests.e2e_stack -- node frontend/tests/e2e/run.mjs 2>&1 \
    | sed -u "s/^/[$2] /"
}
browser_lane browser0 laptop & laptop=$!
browser_lane browser1 phone & phone=$!
status=0
wait $laptop || status=1
wait $phone || status=1
exit $status
