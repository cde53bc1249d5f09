"""The standalone message channel: kombu's filesystem transport under var/queue.

Celery's broker and the worker-to-gateway Socket.IO channel both use it when
there is no Redis, so standalone mode runs the same processes and code path.
"""

import os
import uuid
from time import monotonic
from typing import Any

from kombu.transport import TRANSPORT_ALIASES, filesystem

from common.config import Settings


class AtomicChannel(filesystem.Channel):
    """kombu's filesystem channel with messages that appear whole.

    kombu's `_put` creates the message file and then writes it, and `_get`
    takes any file whose name ends in `.<queue>.msg` without a lock: a reader
    polling in between takes an empty file, fails on it (JSONDecodeError in the
    worker) and the message is gone. Here the message is written under a name no
    reader takes and renamed into place, which is atomic within one directory.
    """

    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:  # type: ignore[override]
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        partial = os.path.join(self.data_folder_out, f"writing-{name}.part")
        try:
            with open(partial, "wb", buffering=0) as handle:
                handle.write(filesystem.str_to_bytes(filesystem.dumps(payload)))
            os.rename(partial, final)
        except OSError as exc:
            raise filesystem.ChannelError(f"Cannot add file {final!r} to directory") from exc


class AtomicTransport(filesystem.Transport):
    Channel = AtomicChannel


# `filesystem://` (Celery's broker and the Socket.IO channel in standalone mode) means this one.
TRANSPORT_ALIASES["filesystem"] = f"{__name__}:AtomicTransport"


def filesystem_connection_options(settings: Settings, name: str) -> dict[str, Any]:
    data = settings.filesystem_queue_dir / name
    control = settings.filesystem_queue_dir / f"{name}-control"
    data.mkdir(parents=True, exist_ok=True)
    control.mkdir(parents=True, exist_ok=True)
    return {
        "transport_options": {
            "data_folder_in": str(data),
            "data_folder_out": str(data),
            "control_folder": str(control),
            "polling_interval": 0.02,
        }
    }
