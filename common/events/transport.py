"""The standalone message channel: kombu's filesystem transport under var/queue.

Celery's broker and the worker-to-gateway Socket.IO channel both use it when
there is no Redis, so standalone mode runs the same processes and code path.
"""

from typing import Any

from common.config import Settings


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
