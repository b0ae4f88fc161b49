"""How an endpoint's URL is shown: never with the password (or key) a user put in it.

``http://user:sk-123@host:8080/v1`` is shown as ``http://user:***@host:8080/v1`` in messages,
banners and logs; the client still uses the URL as given.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import urlsplit, urlunsplit

_CREDENTIALS = re.compile(r"(\w+://)([^\s/@:]*)(:[^\s/@]*)?@")


def redacted(url: str) -> str:
    """``url`` with the password of its user info replaced by ``***`` (a lone user name, which
    some services use as the key, too)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if not parts.username and not parts.password:
        return url
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    user = "***" if parts.password is None else f"{parts.username}:***"
    return urlunsplit((parts.scheme, f"{user}@{host}", parts.path, parts.query, parts.fragment))


class RedactingFilter(logging.Filter):
    """Takes credentials out of the URLs in log records (httpx logs every request's URL)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = _CREDENTIALS.sub(
            lambda m: f"{m.group(1)}{m.group(2)}:***@" if m.group(3) else f"{m.group(1)}***@", message
        )
        if cleaned != message:
            record.msg, record.args = cleaned, None
        return True
