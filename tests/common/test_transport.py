"""The standalone channel's messages appear whole (common/events/transport.py): a reader
polling while writers write never takes a half-written file, so none is lost."""

import threading
from pathlib import Path

import kombu

import common.events.transport  # noqa: F401  (makes filesystem:// the atomic transport)


def test_every_message_written_while_a_reader_polls_arrives_whole(tmp_path: Path) -> None:
    options = {
        "transport_options": {
            "data_folder_in": str(tmp_path),
            "data_folder_out": str(tmp_path),
            "control_folder": str(tmp_path / "control"),
            "polling_interval": 0,
        }
    }
    (tmp_path / "control").mkdir()
    sent = 3_000
    payload = {"padding": "x" * 20_000}  # a long write widens the window a reader could fall into

    def write(start: int) -> None:
        with kombu.Connection("filesystem://", **options) as connection:
            queue = connection.SimpleQueue("race")
            for n in range(start, sent, 3):
                queue.put({**payload, "n": n})
            queue.close()

    writers = [threading.Thread(target=write, args=(k,)) for k in range(3)]
    received: list[int] = []
    with kombu.Connection("filesystem://", **options) as connection:
        assert type(connection.transport).__name__ == "AtomicTransport"
        queue = connection.SimpleQueue("race")
        for writer in writers:
            writer.start()
        while len(received) < sent:
            message = queue.get(timeout=10)  # a lost message would end here: Empty
            received.append(message.payload["n"])
            message.ack()
        queue.close()
    for writer in writers:
        writer.join()
    assert sorted(received) == list(range(sent))
