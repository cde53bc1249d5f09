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
echo "==> Browser end-to-end tests (Chromium)"
.venv/bin/python -m tests.e2e_stack -- node frontend/tests/e2e/run.mjs
