"""Turning an outbox row into a MIME message and delivering it: SMTP, or .eml files without SMTP_URL.

Standard library only: email.message.EmailMessage (plain text with an HTML
alternative) and smtplib. SMTP_URL is `smtp://host:port` (plain; with
user:pass it logs in only after STARTTLS, and refuses when the server does not
offer it: credentials never cross in clear text) or `smtps://user:pass@host:port`
(SSL from the start). Unset, every mail is
written to var/mail/ as an .eml file, so standalone mode needs no mail server.
"""

import logging
import os
import re
import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from types import TracebackType
from urllib.parse import unquote, urlsplit

from common.config import get_settings
from common.emails import is_valid_address
from common.models import MailOutbox

log = logging.getLogger(__name__)


class TlsRequired(smtplib.SMTPException):
    """Credentials are set and the server offers no TLS: nothing is sent, no login is tried."""

    def __init__(self) -> None:
        super().__init__("tls required")


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    ssl: bool
    username: str | None
    password: str | None


def parse_smtp_url(url: str) -> SmtpTarget:
    parts = urlsplit(url)
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError(
            f"SMTP_URL must look like smtp://host:port or smtps://user:pass@host:port, not {url!r}"
        )
    secure = parts.scheme == "smtps"
    return SmtpTarget(
        host=parts.hostname,
        port=parts.port or (465 if secure else 25),
        ssl=secure,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


def build_message(mail: MailOutbox) -> EmailMessage:
    message = EmailMessage()
    message["From"] = get_settings().mail_from
    message["To"] = mail.to_address
    message["Subject"] = mail.subject
    message["Message-ID"] = mail.message_id
    message["Date"] = format_datetime(mail.created_at)
    message["Auto-Submitted"] = "auto-generated"
    message.set_content(mail.body_text)
    message.add_alternative(mail.body_html, subtype="html")
    return message


def eml_path(mail: MailOutbox) -> Path:
    slug = re.sub(r"[^a-z0-9]+", "-", mail.subject.lower()).strip("-")[:60] or "mail"
    stamp = mail.created_at.strftime("%Y%m%dT%H%M%SZ")
    return get_settings().var_dir / "mail" / f"{stamp}-{mail.id:06d}-{slug}.eml"


class Mailer:
    """One connection for a batch of mails; `with Mailer() as m: m.send(row)`."""

    def __init__(self) -> None:
        settings = get_settings()
        self.target = parse_smtp_url(settings.smtp_url) if settings.smtp_url else None
        self.timeout = settings.smtp_timeout_seconds
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> "Mailer":
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.quit()
            except (smtplib.SMTPException, OSError):
                self._smtp.close()
            self._smtp = None

    def _connect(self) -> smtplib.SMTP:
        assert self.target is not None
        target = self.target
        smtp: smtplib.SMTP
        if target.ssl:
            smtp = smtplib.SMTP_SSL(
                target.host, target.port, timeout=self.timeout, context=ssl.create_default_context()
            )
        else:
            smtp = smtplib.SMTP(target.host, target.port, timeout=self.timeout)
            smtp.ehlo()
            if target.username:
                if not smtp.has_extn("starttls"):
                    smtp.close()
                    raise TlsRequired()
                smtp.starttls(context=ssl.create_default_context())
                smtp.ehlo()
        if target.username:
            smtp.login(target.username, target.password or "")
        return smtp

    def send(self, mail: MailOutbox) -> str:
        """Deliver one mail; raises on refusal. Returns where it went."""
        if not is_valid_address(mail.to_address):  # never a second recipient smuggled into To:
            log.warning("mail %s skipped: %r is not one valid e-mail address", mail.id, mail.to_address)
            return "nowhere (skipped: not a valid address)"
        message = build_message(mail)
        if self.target is None:
            return str(write_eml(eml_path(mail), message))
        if self._smtp is None:
            self._smtp = self._connect()
        try:
            self._smtp.send_message(message)
        except Exception:
            # The connection may be unusable after a refusal: start afresh for the next mail.
            self.close()
            raise
        return f"smtp://{self.target.host}:{self.target.port}"


def write_eml(path: Path, message: EmailMessage) -> Path:
    """Written whole or not at all (a reader never sees half a file)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    path.parent.chmod(0o700)  # addresses, names, order text: the owner's only
    partial = path.with_suffix(".eml.part")
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # a leftover .part keeps its mode otherwise
    with os.fdopen(fd, "wb") as file:
        file.write(bytes(message))
    os.replace(partial, path)
    return path
