"""What a mail says: subject, text and HTML bodies, links as full URLs, and the Message-ID."""

import html
import secrets
from dataclasses import dataclass
from email.utils import parseaddr

from common.config import get_settings
from common.i18n.messages import DEFAULT_LOCALE, locale_or_default, mail_text


def full_url(link: str | None) -> str | None:
    """PUBLIC_URL + a notification's link (`/orders/42`)."""
    if not link:
        return None
    return get_settings().public_base_url + (link if link.startswith("/") else f"/{link}")


def new_message_id(prefix: str) -> str:
    """A Message-ID decided when the mail is recorded, so every retry sends the same one."""
    domain = parseaddr(get_settings().mail_from)[1].rpartition("@")[2] or "partpulse.local"
    return f"<{prefix}.{secrets.token_hex(6)}@{domain}>"


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str


def _footer_text(locale: str) -> str:
    return f"\n-- \n{mail_text('footer', locale, url=f'{get_settings().public_base_url}/settings')}\n"


def _page(title: str, body: str, locale: str) -> str:
    settings_url = html.escape(f"{get_settings().public_base_url}/settings")
    return (
        f'<!DOCTYPE html>\n<html lang="{locale}"><head><meta charset="utf-8">'
        f"<title>{html.escape(title)}</title></head>\n"
        '<body style="font-family:Arial,Helvetica,sans-serif;color:#1f2933;line-height:1.5">\n'
        f'<h1 style="font-size:20px;margin:0 0 12px">{html.escape(title)}</h1>\n{body}\n'
        '<p style="color:#52606d;font-size:12px;margin-top:24px">'
        f"{html.escape(mail_text('footer_html', locale))} "
        f'<a href="{settings_url}">{html.escape(mail_text("footer_link", locale))}</a>.</p>\n</body></html>\n'
    )


def _greeted(subject: str, full_name: str | None, text: str, body: str, locale: str) -> Rendered:
    """`Hello {full_name},` above the text and the HTML body; the footer below both (in the locale)."""
    greeting = f"{mail_text('greeting', locale, name=full_name)}\n\n" if full_name else ""
    html_greeting = f"<p>{html.escape(greeting.strip())}</p>\n" if full_name else ""
    return Rendered(
        subject, greeting + text + _footer_text(locale), _page(subject, html_greeting + body, locale)
    )


def render_single(
    title: str, message: str, link: str | None, full_name: str | None = None, locale: str | None = None
) -> Rendered:
    """Subject = the title; body = the message and the link as a full URL."""
    url = full_url(link)
    text = f"{message}\n"
    body = f"<p>{html.escape(message)}</p>\n"
    if url:
        text += f"\n{url}\n"
        body += f'<p><a href="{html.escape(url)}">{html.escape(url)}</a></p>'
    return _greeted(title, full_name, text, body, locale_or_default(locale))


@dataclass(frozen=True)
class DigestLine:
    part_id: int
    part_name: str
    sku: str
    # (supplier name, quantity, threshold), one per supplier whose stock of the part is low
    stock: list[tuple[str, int, int | None]]


def render_digest(
    lines: list[DigestLine],
    *,
    name_suppliers: bool,
    full_name: str | None = None,
    locale: str | None = DEFAULT_LOCALE,
) -> Rendered:
    """`Low stock: {n} parts`, each part once; an admin's digest names the supplier with each part."""
    locale = locale_or_default(locale)
    subject = mail_text("digest_subject", locale, n=len(lines))
    intro = mail_text("digest_intro", locale)
    text_lines: list[str] = []
    html_items: list[str] = []
    for line in lines:
        levels = []
        for supplier, quantity, threshold in line.stock:
            level = (
                mail_text("digest_threshold", locale, quantity=quantity, threshold=threshold)
                if threshold is not None
                else mail_text("digest_remaining", locale, quantity=quantity)
            )
            levels.append(f"{supplier}: {level}" if name_suppliers else level)
        url = full_url(f"/inventory/{line.part_id}") or ""
        text_lines.append(f"- {line.part_name} ({line.sku}): {'; '.join(levels)}\n  {url}")
        html_items.append(
            f'<li><a href="{html.escape(url)}">{html.escape(line.part_name)}</a> '
            f"({html.escape(line.sku)}): {html.escape('; '.join(levels))}</li>"
        )
    text = f"{intro}\n\n" + "\n".join(text_lines) + "\n"
    body = f"<p>{html.escape(intro)}</p>\n<ul>\n" + "\n".join(html_items) + "\n</ul>"
    return _greeted(subject, full_name, text, body, locale)
