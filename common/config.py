"""One Settings object for every process, read from the environment."""

from functools import cached_property, lru_cache
from pathlib import Path

from pydantic import AliasChoices, Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEV_JWT_SECRET = "partpulse-dev-secret-change-me-please-32b"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    host: str = "127.0.0.1"
    port: int = 8000
    database_url: str = ""
    redis_url: str = ""
    jwt_secret: str = ""
    jwt_expires_minutes: int = 60
    cors_origins: str = ""
    seed_demo: bool = True
    flower_port: int = 5555
    flower_basic_auth: str = ""
    event_redeliver_seconds: float = 60.0
    max_body_bytes: int = 1_048_576
    login_attempts_per_minute: int = 10
    trusted_proxies: str = ""
    smtp_url: str = ""
    mail_from: str = "PartPulse <noreply@partpulse.local>"
    escalate_unconfirmed_seconds: float = 14_400.0
    escalation_check_seconds: float = 60.0
    low_stock_digest_seconds: float = 3_600.0
    metrics_token: str = ""
    worker_metrics_port: int = 9808
    public_url: str = ""
    # Hardening, round two (issue 20): slow and large requests, sockets, admission.
    request_body_timeout_seconds: float = 10.0  # the whole body, from the end of the headers: else 408
    max_header_bytes: int = 16_384  # request line and all headers: past it 431
    max_sockets_per_user: int = 20  # per gateway process: the next gets connect_error
    max_sockets_per_gateway: int = 20_000  # engine.io sessions: past it new handshakes get 503
    admission_wait_seconds: float = 2.0  # longer in the admission queue: 503 with Retry-After: 1

    # Not in the contract: knobs for tests and tuning.
    bcrypt_rounds: int = 12
    var_dir: Path = PROJECT_ROOT / "var"
    frontend_dist: Path = PROJECT_ROOT / "frontend" / "dist"
    event_relay: bool = True  # re-send events the broker has not taken yet
    relay_interval_seconds: float = 2.0
    # Under a stream of events the relay waits this long to batch them, and
    # claims at most this many per pass (1 turns batching off, for comparison).
    relay_linger_seconds: float = 0.04
    relay_batch: int = 500
    # POST /api/events/: when requests arrive faster than this apart (a moving
    # average), the group commit waits this long for more of them to share the
    # transaction (at 150/s, one request every 6.7 ms: groups of three). Slower
    # streams and lone requests are written at once. 0 turns the wait off.
    group_commit_linger_seconds: float = 0.015
    # Celery's task-sent event is published by whoever sends the task (the
    # gateway's relay): it costs the gateway CPU per task and Flower needs only
    # the workers' events to show every task. On for a full timeline in Flower.
    celery_sent_events: bool = False
    # The workers' task events (received, started, succeeded, failed): what Flower's
    # task list and task timeline are made of. Off, workers send none and Flower does
    # not switch them on; Flower still shows workers, queues and their lengths.
    celery_task_events: bool = True
    # Redis timeouts, in seconds (common/redis_client.py): connecting, and an answer to a
    # command (the workers' publisher); the probes (health, queue depths) and the
    # login throttle give up sooner. A subscription has no answer timeout.
    redis_connect_timeout_seconds: float = 3.0
    redis_command_timeout_seconds: float = 5.0
    redis_probe_timeout_seconds: float = 1.0
    redis_throttle_timeout_seconds: float = 2.0
    # Test each pooled connection before use (a round trip per checkout); off,
    # a connection broken by a database restart fails one request (503) instead.
    db_pre_ping: bool = True
    # Connections per process (common/db.py, PROCESS_POOLS): unset, each process
    # role has its own size; set, these win for every role of this environment.
    db_pool_size: int | None = Field(None, ge=1, le=1_000)
    db_max_overflow: int | None = Field(None, ge=0, le=1_000)
    # A session-level connection (migrations; anything that needs LISTEN or a lock
    # across transactions) when DATABASE_URL goes through PgBouncer's transaction pooling.
    database_direct_url: str | None = None
    # The name the Socket.IO channel starts with (env SOCKETIO_CHANNEL); see socketio_channel.
    socketio_channel_name: str = Field(
        "partpulse", validation_alias=AliasChoices("SOCKETIO_CHANNEL", "socketio_channel_name")
    )
    # E-mail (issue 13): how often beat sweeps the mail outbox and closes due digests,
    # how long a mail may wait untaken before the sweep hands it over again, the first
    # retry delay after a refusal (doubling up to an hour), and when to give up.
    mail_sweep_seconds: float = 5.0
    mail_requeue_seconds: float = 30.0
    mail_retry_seconds: float = 10.0
    mail_max_attempts: int = 10
    smtp_timeout_seconds: float = 20.0
    # How often beat folds the appended unread changes into the totals (common/services/unread.py).
    unread_compact_seconds: float = 5.0
    # Retention (CONTRACT section 8, common/services/retention.py): what is done with
    # and older than this goes; beat runs the purge this often, in batches of this many events.
    retention_days: int = Field(180, ge=1)
    retention_check_seconds: float = 600.0
    retention_batch: int = Field(500, ge=1, le=10_000)
    # Snooze (issue 24, CONTRACT section 8): the shortest snooze; beat resurfaces due rows this often.
    snooze_min_seconds: int = Field(180, ge=0)
    resurface_check_seconds: float = 1.0
    # --- failure paths of the event engine (issue 19, CONTRACT section 8) ---
    # Deliveries of one event to a worker, counted before its handler runs; past
    # it the event is FAILED (a replay starts the count again).
    event_max_attempts: int = 5
    # The doubling redelivery wait of a QUEUED event never exceeds this.
    event_redeliver_max_seconds: float = 3_600.0
    # Celery's limits for event tasks. Each handler transaction sets lock_timeout
    # and statement_timeout to a quarter of the soft limit: a worker blocked in
    # libpq runs no Python signal handler, so the database must give up first.
    task_soft_time_limit_seconds: float = 100.0
    task_time_limit_seconds: float = 120.0
    # The gateway's catch-up reads its window in pages of this many rows.
    catch_up_page_rows: int = 1_000
    # --- end of issue 19's settings ---
    # The Redis (or Redis Cluster: redis+cluster://host:port,host:port/db) of the
    # gateways' room channels (issue 21); empty: REDIS_URL. See common/events/channels.py.
    socketio_redis_url: str = ""

    @field_validator("jwt_expires_minutes")
    @classmethod
    def _positive(cls, value: int) -> int:
        if value < 1:
            raise ValueError("JWT_EXPIRES_MINUTES must be at least 1")
        return value

    @property
    def distributed(self) -> bool:
        return bool(self.redis_url)

    @property
    def sqlalchemy_url(self) -> str:
        return self.database_url or f"sqlite:///{self.var_dir / 'partpulse.db'}"

    @property
    def sqlalchemy_direct_url(self) -> str:
        """DATABASE_DIRECT_URL, else the same database as DATABASE_URL."""
        return self.database_direct_url or self.sqlalchemy_url

    @property
    def signing_key(self) -> str:
        if self.jwt_secret:
            return self.jwt_secret
        if self.distributed:
            raise RuntimeError(
                "JWT_SECRET must be set in distributed mode (REDIS_URL is set); "
                "refusing to sign tokens with the development secret"
            )
        return DEV_JWT_SECRET

    @property
    def public_base_url(self) -> str:
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    # Cached: the workers publish on the channel for every batch, and parsing the
    # URL each time cost them more CPU than an UPDATE. Settings do not change.
    @cached_property
    def redis_db(self) -> int:
        from redis.connection import parse_url

        return int(parse_url(self.redis_url).get("db") or 0) if self.redis_url else 0

    @property
    def channel_redis_url(self) -> str:
        """Where the room channels live: SOCKETIO_REDIS_URL, else REDIS_URL."""
        return self.socketio_redis_url or self.redis_url

    @cached_property
    def channel_redis_db(self) -> int:
        from common.events.channels import parse_channel_url

        return parse_channel_url(self.channel_redis_url).db if self.distributed else 0

    @cached_property
    def socketio_channel(self) -> str:
        """The channel between workers and gateways: `partpulse:{db}` in distributed mode.

        Redis pub/sub channels are server-wide, they ignore the db number; two
        deployments on one Redis server (db 0 and db 1) would hear each other's
        socket messages. The db number in the name keeps them apart, for the
        gateways' manager and the workers' publisher alike.
        """
        if self.distributed:
            return f"{self.socketio_channel_name}:{self.channel_redis_db}"
        return self.socketio_channel_name

    @property
    def broker_url(self) -> str:
        return self.redis_url or "filesystem://"

    @property
    def filesystem_queue_dir(self) -> Path:
        return self.var_dir / "queue"

    @property
    def allowed_origins(self) -> list[str]:
        if self.cors_origins:
            return [o.strip().rstrip("/") for o in self.cors_origins.split(",") if o.strip()]
        own = [f"http://{self.host}:{self.port}"]
        if self.host in ("127.0.0.1", "0.0.0.0"):
            own.append(f"http://localhost:{self.port}")
        return own + ["http://localhost:5173", "http://127.0.0.1:5173"]


@lru_cache
def get_settings() -> Settings:
    return Settings()
