"""schemathesis over the OpenAPI against a live gateway: no 5xx, and every answer (status,
content type, body) is what the OpenAPI says. A bounded run (about a minute here). Every
date-time draws from the calendar's edges too (schemathesis_hooks.py)."""

import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from common.models import User
from common.security import create_access_token
from tests.conftest import ROOT
from tests.integration.stack import LOG_DIR, free_port, fresh_seeded_database, process_env, start_gateway

CHECKS = "not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance"
MAX_EXAMPLES = os.environ.get("FUZZ_MAX_EXAMPLES", "50")
SEED = os.environ.get("FUZZ_SEED", "20261126")


def test_schemathesis_finds_nothing(database: str) -> None:
    # A database of its own: the fuzzer creates, renames and deactivates freely.
    database_url = fresh_seeded_database("fuzz")
    engine = create_engine(database_url)
    with Session(engine) as session:
        admin = session.scalar(select(User).where(User.email == "admin@demo.test"))
        assert admin is not None
        token = create_access_token(admin.id, admin.role, expires_minutes=30)
    engine.dispose()
    port = free_port()
    # No relay: nothing else needs the events it fires. A login limit of its own, so its
    # failed logins count under other keys than the other tests' (limits keys carry the rate).
    env = process_env(DATABASE_URL=database_url, EVENT_RELAY="0", LOGIN_ATTEMPTS_PER_MINUTE="100000")
    gateway = start_gateway("gateway-fuzz", port, env)
    report = LOG_DIR / "schemathesis.log"
    try:
        result = subprocess.run(
            [
                str(Path(sys.executable).parent / "schemathesis"),
                "run",
                f"http://127.0.0.1:{port}/openapi.json",
                "--header",
                f"Authorization: Bearer {token}",
                "--checks",
                CHECKS,
                "--max-examples",
                MAX_EXAMPLES,
                "--seed",
                SEED,
                "--workers",
                "1",
                "--request-timeout",
                "15",
                "--no-color",
            ],
            cwd=ROOT,
            # Calendar-edge times in every date-time field and in manual metadata (issue 20).
            env={**os.environ, "SCHEMATHESIS_HOOKS": "tests.integration.schemathesis_hooks",
                 "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))},
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
    finally:
        gateway.stop()
    report.write_text(result.stdout + result.stderr)
    summary = [line for line in result.stdout.splitlines() if "generated" in line or line.startswith("=")]
    print("\n".join(summary[-3:]))
    assert result.returncode == 0, f"schemathesis failed (full report in {report}):\n{result.stdout[-6000:]}"
    assert " passed" in result.stdout and "failure" not in result.stdout.splitlines()[-1]
