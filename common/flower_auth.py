"""Flower's credentials (FLOWER_BASIC_AUTH, `user:password`): Flower never answers without them.

Set, the variable is used as it is. Unset, a password is generated once, kept in
`var/flower_basic_auth` (mode 0600) and used from then on; `make run` prints it
the time it is made. flowerconfig.py (read by `celery -A workers flower`) calls
`flower_basic_auth()`, so every way of starting Flower from this project asks
for them.
"""

import os
import secrets
import sys

from common.config import Settings, get_settings

FILE_NAME = "flower_basic_auth"


def _check(value: str, origin: str) -> str:
    user, sep, password = value.strip().partition(":")
    if not sep or not user or not password or "," in value:
        raise SystemExit(f"{origin} must be user:password (both non-empty, no comma)")
    return value.strip()


def flower_basic_auth(settings: Settings | None = None) -> tuple[str, bool]:
    """The `user:password` Flower requires, and whether it was generated just now."""
    settings = settings or get_settings()
    if settings.flower_basic_auth:
        return _check(settings.flower_basic_auth, "FLOWER_BASIC_AUTH"), False
    path = settings.var_dir / FILE_NAME
    if path.is_file():
        return _check(path.read_text(), str(path)), False
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    value = f"admin:{secrets.token_urlsafe(18)}"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(value + "\n")
    return value, True


def guard_open_views() -> None:
    """Flower 2.x serves /metrics (task names and counts per worker) and /healthcheck to
    anyone, even with basic auth on. Wrap them in tornado's own `authenticated` like
    every other view (Flower has no option for it; tests/integration/test_flower.py
    fails if a Flower release changes this)."""
    import tornado.web
    from flower.views.monitor import Healthcheck, Metrics

    for handler in (Metrics, Healthcheck):
        if not getattr(handler.get, "_partpulse_guarded", False):
            guarded = tornado.web.authenticated(handler.get)
            guarded._partpulse_guarded = True  # type: ignore[attr-defined]
            handler.get = guarded  # type: ignore[method-assign]


def main() -> None:
    """`python -m common.flower_auth`: make sure credentials exist; print them once, when made."""
    settings = get_settings()
    value, generated = flower_basic_auth(settings)
    if generated:
        print(f"    Flower login (generated once, kept in {settings.var_dir / FILE_NAME}): {value}")
    elif settings.flower_basic_auth:
        print("    Flower login: FLOWER_BASIC_AUTH")
    else:
        print(f"    Flower login: see {settings.var_dir / FILE_NAME}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
