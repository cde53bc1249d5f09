"""/docs renders in Chromium with the gateway's CSP on and no internet: Swagger UI's assets
are the gateway's own, and nothing on the page is refused by the Content-Security-Policy."""

import os
import subprocess
from pathlib import Path

from tests.integration.conftest import Stack

CHROMIUM = Path("/usr/bin/chromium")


def _ensure_chromium() -> None:
    if not CHROMIUM.exists():  # as scripts/test_frontend.sh does
        subprocess.run(["apt-get", "update", "-qq"], check=True)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "chromium"],
            check=True,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
        )


def _render(url: str, tmp_path: Path) -> tuple[str, str]:
    result = subprocess.run(
        [
            str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
            f"--user-data-dir={tmp_path / 'profile'}", "--enable-logging=stderr", "--v=0",
            "--virtual-time-budget=10000", "--dump-dom", url,
        ],
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    return result.stdout, result.stderr


def test_swagger_ui_renders_under_the_csp(stack: Stack, tmp_path: Path) -> None:
    _ensure_chromium()
    dom, log = _render(f"{stack.url}/docs", tmp_path)
    assert 'class="title">PartPulse' in dom, dom[:2000]
    assert "authorize" in dom  # the Authorize button (OAuth2 password flow to /api/auth/token)
    assert "/api/auth/login" in dom  # the operations were read from /openapi.json
    assert "Content Security Policy" not in log, log[-3000:]


def test_redoc_renders_under_the_csp(stack: Stack, tmp_path: Path) -> None:
    _ensure_chromium()
    dom, log = _render(f"{stack.url}/redoc", tmp_path)
    assert "api-info" in dom and "PartPulse" in dom, dom[:2000]
    # ReDoc's own "powered by" logo points at its CDN; the CSP keeps the page offline.
    refused = [line for line in log.splitlines() if "Content Security Policy" in line and "logo-mini" not in line]
    assert not refused, refused
