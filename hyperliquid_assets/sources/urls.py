"""Credentials in configured URLs (`https://user:password@host`, `http://KEY:SECRET@minio:9000`): taken out of
the URL once, where a source is built, and used where they belong (HTTP basic auth; S3 access key and secret),
so that no URI the project stores, logs or puts in an error message carries them."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote, urlsplit, urlunsplit


@dataclass(frozen=True)
class UrlCredentials:
    url: str  # the URL without user name or password: safe to store, log and show
    username: str | None = None  # percent-decoded
    password: str | None = None

    def __repr__(self) -> str:  # never print the secret, e.g. in a traceback's locals
        return f"UrlCredentials(url={self.url!r}, username={'***' if self.username else None})"


def split_credentials(url: str) -> UrlCredentials:
    """The URL without its user info, and the user name and password it carried (percent-decoded)."""
    parts = urlsplit(url)
    if parts.username is None and parts.password is None:
        return UrlCredentials(url)
    return UrlCredentials(
        urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2])),
        unquote(parts.username) if parts.username is not None else None,
        unquote(parts.password) if parts.password is not None else None,
    )

