"""Room channels on a Redis Cluster (issue 21): three local redis-server nodes.

The gateways take their channels from SOCKETIO_REDIS_URL
(`redis+cluster://host:port,host:port/db`), the broker stays on REDIS_URL.
Each user's channel lives on the node owning its slot; a gateway subscribes
there, so the messages of one user stay on one node and reach one gateway.
Both publishers are covered: the workers' (this process, through the cluster
pipeline) and the gateway's own (a read pushed from the other gateway).
"""

import asyncio
import os
import shutil
import subprocess
import time
from collections.abc import Iterator

import httpx
import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from common.config import get_settings
from common.events import channels
from common.models import Notification, User
from tests.integration import stack
from tests.integration.stack import LOG_DIR
from tests.integration.test_operations import sample, scrape
from tests.integration.test_room_channels import (
    DELIVERED,
    Sockets,
    _admin_token,
    _make_users,
    _send,
    _until,
)

METRICS_TOKEN = "rooms-cluster-metrics"
CHANNEL = "partpulse-rooms-cluster-test"
USERS_PER_GATEWAY = 30


def _cluster_port(taken: list[int]) -> int:
    """A free port whose cluster bus port (10,000 higher, so at most 55535) is free too."""
    import random
    import socket

    while True:
        port = random.randint(20_000, 45_000)
        if port in taken:
            continue
        try:
            for candidate in (port, port + 10_000):
                with socket.socket() as probe:
                    probe.bind(("127.0.0.1", candidate))
        except OSError:
            continue
        return port


class LocalCluster:
    """Three masters, no replicas, no persistence, on free ports."""

    def __init__(self) -> None:
        self.ports: list[int] = []
        for _ in range(3):
            self.ports.append(_cluster_port(self.ports))
        self.procs: list[subprocess.Popen[bytes]] = []
        self.dir = LOG_DIR / f"cluster-{self.ports[0]}"

    def cli(self, port: int, *args: str) -> str:
        result = subprocess.run(
            ["redis-cli", "-p", str(port), *args], capture_output=True, text=True, timeout=20
        )
        return result.stdout.strip()

    def start(self) -> None:
        for port in self.ports:
            node_dir = self.dir / str(port)
            shutil.rmtree(node_dir, ignore_errors=True)
            node_dir.mkdir(parents=True)
            args = ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--cluster-enabled", "yes"]
            args += ["--cluster-config-file", "nodes.conf", "--save", "", "--appendonly", "no"]
            with open(node_dir / "log.txt", "a") as log:
                self.procs.append(
                    subprocess.Popen(
                        args, cwd=node_dir, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
                    )
                )
        for port in self.ports:
            stack.wait_until(lambda p=port: self.cli(p, "ping") == "PONG", 15, f"cluster node {port}")
        nodes = [f"127.0.0.1:{port}" for port in self.ports]
        created = subprocess.run(
            ["redis-cli", "--cluster", "create", *nodes, "--cluster-replicas", "0", "--cluster-yes"],
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert created.returncode == 0, created.stdout + created.stderr
        for port in self.ports:
            stack.wait_until(
                lambda p=port: "cluster_state:ok" in self.cli(p, "cluster", "info"),
                20,
                f"cluster state on {port}",
            )

    def url(self, db: int) -> str:
        return f"redis+cluster://127.0.0.1:{self.ports[0]},127.0.0.1:{self.ports[1]}/{db}"

    def subscribers(self, channel: str) -> dict[int, int]:
        """Each node's SHARDNUMSUB of the channel (a node not owning it answers 0)."""
        counts = {}
        for port in self.ports:
            reply = self.cli(port, "pubsub", "shardnumsub", channel).splitlines()
            counts[port] = int(reply[-1])
        return counts

    def owner(self, channel: str) -> int:
        slot = int(self.cli(self.ports[0], "cluster", "keyslot", channel))
        for line in self.cli(self.ports[0], "cluster", "nodes").splitlines():
            fields = line.split()
            port = int(fields[1].split("@")[0].rsplit(":", 1)[1])
            for ranges in fields[8:]:
                low, _, high = ranges.partition("-")
                if int(low) <= slot <= int(high or low):
                    return port
        raise AssertionError(f"no node owns slot {slot}")

    def stop(self) -> None:
        for proc in self.procs:
            proc.terminate()
        for proc in self.procs:
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()


@pytest.fixture(scope="module")
def cluster() -> Iterator[tuple[LocalCluster, list[str], list[tuple[int, str]], str, str]]:
    local = LocalCluster()
    try:
        local.start()
    except BaseException:
        local.stop()
        raise
    url = stack.fresh_seeded_database("rooms_cluster")
    saved = {k: os.environ.get(k) for k in ("SOCKETIO_CHANNEL", "SOCKETIO_REDIS_URL")}
    os.environ.update(SOCKETIO_CHANNEL=CHANNEL, SOCKETIO_REDIS_URL=local.url(5))
    get_settings.cache_clear()
    channels.sync_client.cache_clear()
    env = stack.process_env(
        DATABASE_URL=url,
        SOCKETIO_CHANNEL=CHANNEL,
        SOCKETIO_REDIS_URL=local.url(5),
        METRICS_TOKEN=METRICS_TOKEN,
        EVENT_RELAY="0",
    )
    ports = [stack.free_port() for _ in range(2)]
    gateways = [stack.start_gateway(f"gateway-cluster-{i}", port, env) for i, port in enumerate(ports)]
    try:
        users = _make_users(url, 2 * USERS_PER_GATEWAY)
        yield local, [f"http://127.0.0.1:{p}" for p in ports], users, url, _admin_token(url)
    finally:
        for gateway in gateways:
            gateway.stop()
        local.stop()
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        get_settings.cache_clear()
        channels.sync_client.cache_clear()


def _unread_row(database_url: str, user_id: int) -> int:
    engine = create_engine(database_url)
    with Session(engine) as session:
        row = Notification(user_id=user_id, event_type="ORDER_PLACED", title="t", message="m")
        session.add(row)
        session.commit()
        row_id = row.id
        assert session.scalar(select(User.id).where(User.id == user_id)) == user_id
    engine.dispose()
    return row_id


def test_room_channels_on_a_three_node_cluster(cluster) -> None:  # type: ignore[no-untyped-def]
    local, urls, users, database_url, _admin = cluster
    settings = get_settings()
    assert settings.socketio_channel == f"{CHANNEL}:5"  # the cluster URL's db names the channels

    async def scenario() -> None:
        sockets = Sockets()
        pairs = [(urls[n // USERS_PER_GATEWAY], token) for n, (_uid, token) in enumerate(users)]
        await sockets.connect_many(pairs, at_once=20)
        try:
            user_ids = [uid for uid, _ in users]
            owners = set()
            for uid in user_ids:
                name = channels.room_channel(f"user_{uid}")
                owner = local.owner(name)
                owners.add(owner)
                counts = local.subscribers(name)
                assert counts[owner] == 1 and sum(counts.values()) == 1, (name, counts)
            assert len(owners) == 3, "the channels spread over the three nodes"
            before = [sample(scrape(u, METRICS_TOKEN), DELIVERED) for u in urls]
            sent = _send(user_ids, 1)
            wanted = {n: [sent[uid]] for n, (uid, _) in enumerate(users)}
            await _until(
                lambda: all(sockets.got[n] == wanted[n] for n in wanted), 15, "every socket's message"
            )
            await asyncio.sleep(0.3)
            gained = [
                sample(scrape(u, METRICS_TOKEN), DELIVERED) - b for u, b in zip(urls, before, strict=True)
            ]
            assert gained == [USERS_PER_GATEWAY, USERS_PER_GATEWAY]
            # The gateway's own push: a read made on gateway 0 reaches the socket on gateway 1.
            uid, token = users[-1]
            row_id = _unread_row(database_url, uid)
            updates: list[dict] = []
            sockets.clients[-1].on("notification_updated", updates.append)
            async with httpx.AsyncClient(base_url=urls[0], timeout=10) as api:
                headers = {"Authorization": f"Bearer {token}"}
                response = await api.patch(f"/api/notifications/{row_id}/read", headers=headers)
                assert response.status_code == 200, response.text
            await _until(
                lambda: any(u.get("id") == row_id for u in updates), 5, "the read pushed across nodes"
            )
        finally:
            await sockets.close_all()
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and any(
            sum(local.subscribers(channels.room_channel(f"user_{uid}")).values()) for uid in user_ids[:5]
        ):
            await asyncio.sleep(0.1)
        assert all(
            sum(local.subscribers(channels.room_channel(f"user_{u}")).values()) == 0 for u in user_ids[:5]
        )

    asyncio.run(scenario())
