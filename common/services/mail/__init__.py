"""E-mail (CONTRACT section 6): which notification is mailed to whom, recorded before it is sent.

The pipeline calls record_mails() in the transaction that writes the
notification rows. A mail is a row in mail_outbox (unique per event and user,
so a replayed or redelivered event never writes a second one); LOW_STOCK_ALERT
mails are gathered as digest items and written as one digest per user when the
period the user's first alert opened ends. After the commit, the new mails'
ids are handed to the `send_mail` task on the `email` queue; the beat sweep
hands over again whatever a lost task left behind, so a broker that lost its
queue delays mail and never loses it.

- recording: deciding and recording the mails of handled events (MailEntry, record_mails, record_mails_batch)
- digests: the low-stock digest items and writing the digests whose period has ended
- delivery: the outbox's sending state (claim, mark_sent, mark_refused, retry_delay), enqueueing and the sweep
- rendering: subjects, bodies and Message-IDs
- holding: quiet hours (issue 25): mails held outside the user's window, released by beat
"""

from common.services.mail.delivery import (
    SEND_TASK,
    SWEEP_BATCH,
    claim,
    enqueue_send,
    mark_refused,
    mark_sent,
    retry_delay,
    send_after_commit,
    sweep,
)
from common.services.mail.digests import DIGEST_BATCH, digest_lines, record_digest_items, write_due_digests
from common.services.mail.holding import held_until_of_events, release_due
from common.services.mail.recording import MailEntry, record_mails, record_mails_batch
from common.services.mail.rendering import (
    DigestLine,
    Rendered,
    full_url,
    new_message_id,
    render_digest,
    render_single,
)

__all__ = [
    "DIGEST_BATCH",
    "SEND_TASK",
    "SWEEP_BATCH",
    "DigestLine",
    "MailEntry",
    "Rendered",
    "claim",
    "digest_lines",
    "enqueue_send",
    "full_url",
    "held_until_of_events",
    "mark_refused",
    "mark_sent",
    "new_message_id",
    "record_digest_items",
    "record_mails",
    "record_mails_batch",
    "render_digest",
    "render_single",
    "release_due",
    "retry_delay",
    "send_after_commit",
    "sweep",
    "write_due_digests",
]
