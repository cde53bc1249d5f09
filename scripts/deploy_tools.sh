#!/usr/bin/env bash
# The tools tests/test_deploy.py checks the deployment files with: Debian's
# docker-compose, nginx and promtool (package prometheus), and the pgbouncer that
# tests/integration/test_pgbouncer.py runs the stack through. Installed when missing.
set -euo pipefail
missing=()
command -v docker-compose >/dev/null || missing+=(docker-compose)
command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || missing+=(nginx-light)
command -v promtool >/dev/null || missing+=(prometheus)
command -v pgbouncer >/dev/null || [[ -x /usr/sbin/pgbouncer ]] || missing+=(pgbouncer)
if (( ${#missing[@]} )); then
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "==> Installing ${missing[*]} (checks of the deployment files)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >/dev/null
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "Missing ${missing[*]}: tests/test_deploy.py will fail (apt-get install ${missing[*]})" >&2
  fi
fi
