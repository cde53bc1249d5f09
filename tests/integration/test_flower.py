"""Flower never answers without credentials (FLOWER_BASIC_AUTH, or one generated under var/)."""

import sys
from pathlib import Path
from subprocess import run

import httpx
import pytest

from tests.integration.stack import Process, free_port, process_env, wait_until


def _start_flower(name: str, env: dict[str, str], *extra: str) -> tuple[Process, str]:
    port = free_port()
    flower = Process(
        name,
        [sys.executable, "-m", "celery", "-A", "workers", "flower", f"--port={port}", "--address=127.0.0.1", *extra],
        env,
    )
    url = f"http://127.0.0.1:{port}"
    wait_until(lambda: httpx.get(url, timeout=2).status_code > 0, 60, f"{name} listening")
    return flower, url


def _assert_guarded(url: str, user: str, password: str) -> None:
    for path in ("/", "/api/tasks", "/api/workers", "/tasks", "/metrics", "/healthcheck", "/workers", "/broker"):
        anonymous = httpx.get(f"{url}{path}", timeout=10)
        assert anonymous.status_code == 401, (path, anonymous.status_code)
        wrong = httpx.get(f"{url}{path}", auth=(user, password + "x"), timeout=10)
        assert wrong.status_code == 401, path
    assert httpx.get(f"{url}/", auth=(user, password), timeout=10).status_code == 200


def test_flower_uses_flower_basic_auth(tmp_path: Path) -> None:
    env = process_env(FLOWER_BASIC_AUTH="ops:s3cret-pass", VAR_DIR=str(tmp_path))
    flower, url = _start_flower("flower-auth", env, "--conf=flowerconfig.py")
    try:
        _assert_guarded(url, "ops", "s3cret-pass")
    finally:
        flower.stop()


def test_flower_without_a_setting_generates_credentials_once(tmp_path: Path) -> None:
    env = process_env(VAR_DIR=str(tmp_path))
    env.pop("FLOWER_BASIC_AUTH", None)

    first = run([sys.executable, "-m", "common.flower_auth"], env=env, capture_output=True, text=True, check=True)
    stored = (tmp_path / "flower_basic_auth").read_text().strip()
    assert stored in first.stdout  # printed the time it was made...
    again = run([sys.executable, "-m", "common.flower_auth"], env=env, capture_output=True, text=True, check=True)
    assert stored not in again.stdout  # ...and never again
    assert (tmp_path / "flower_basic_auth").stat().st_mode & 0o077 == 0
    user, _, password = stored.partition(":")
    # Started the plain way (no --conf): ./flowerconfig.py is read all the same.
    flower, url = _start_flower("flower-generated", env)
    try:
        _assert_guarded(url, user, password)
    finally:
        flower.stop()


@pytest.mark.parametrize("bad", ["nocolon", ":nouser", "user:", "a:b,c:d"])
def test_flower_refuses_to_start_with_malformed_credentials(tmp_path: Path, bad: str) -> None:

    env = process_env(FLOWER_BASIC_AUTH=bad, VAR_DIR=str(tmp_path))
    result = run([sys.executable, "-m", "common.flower_auth"], env=env, capture_output=True, text=True)
    assert result.returncode != 0
    assert "user:password" in result.stderr


@pytest.mark.parametrize(("setting", "expected"), [("1", True), ("0", False)])
def test_celery_task_events_switches_the_workers_and_flower(tmp_path: Path, setting: str, expected: bool) -> None:
    """CELERY_TASK_EVENTS=0: the workers send no task events and Flower does not switch them back on."""
    check = (
        "import celeryconfig\n"
        "from flower.options import options\n"
        "options.parse_config_file('flowerconfig.py', final=False)\n"
        "print(celeryconfig.worker_send_task_events, options.enable_events)\n"
    )
    env = process_env(FLOWER_BASIC_AUTH="ops:s3cret-pass", VAR_DIR=str(tmp_path), CELERY_TASK_EVENTS=setting)
    out = run([sys.executable, "-c", check], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.split() == [str(expected), str(expected)], out.stderr
