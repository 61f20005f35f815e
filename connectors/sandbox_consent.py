"""The sandboxes' stand-in for the providers' consent screens (login.xero.com, TikTok Shop's
services site): the page a user sees between "Connect" in LedgerSync and the callback.

Real consent screens ask the user to log in and approve; the sandbox shows what would be granted
and two links, so a person trying `make demo` walks the same redirect chain as in production:
LedgerSync -> consent page -> callback with `code` and `state` (or an error) -> LedgerSync.
"""

from __future__ import annotations

import html
from urllib.parse import urlencode, urlsplit, urlunsplit

import httpx

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>body{{font-family:sans-serif;max-width:40rem;margin:3rem auto;line-height:1.5}}
a.allow{{background:#13b5ea;color:#fff;padding:.5rem 1rem;text-decoration:none;border-radius:4px}}
a.deny{{margin-left:1rem}}</style></head>
<body><p><em>Sandbox: no password is asked and nothing leaves this machine.</em></p>
<h1>{title}</h1><p>{question}</p><ul>{items}</ul>
<p><a class="allow" href="{allow}">Allow access</a><a class="deny" href="{deny}">Cancel</a></p>
</body></html>"""


def consent_page(*, title: str, question: str, items: list[str], allow: str, deny: str) -> httpx.Response:
    body = PAGE.format(
        title=html.escape(title),
        question=html.escape(question),
        items="".join(f"<li>{html.escape(item)}</li>" for item in items),
        allow=html.escape(allow),
        deny=html.escape(deny),
    )
    return httpx.Response(200, text=body, headers={"Content-Type": "text/html; charset=utf-8"})


def with_query(url: str, params: dict[str, str]) -> str:
    """`url` with `params` added to its query (the callback URL may carry a query of its own)."""
    parts = urlsplit(url)
    query = "&".join(q for q in (parts.query, urlencode(params)) if q)
    return urlunsplit(parts._replace(query=query))


def redirect(url: str, params: dict[str, str]) -> httpx.Response:
    return httpx.Response(302, headers={"Location": with_query(url, params)})


def error_page(status: int, message: str) -> httpx.Response:
    body = f"<!doctype html><title>Refused</title><h1>Refused</h1><p>{html.escape(message)}</p>"
    return httpx.Response(status, text=body, headers={"Content-Type": "text/html; charset=utf-8"})
