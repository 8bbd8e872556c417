"""The places an upstream object can come from: a local mirror, an S3-compatible bucket, an HTTPS host.

Each source answers `fetch(key)` with the object's complete bytes, or None when the upstream does not have it
(the Hyperliquid archive has gaps; Binance publishes a day late). Failures raise a SourceError naming the URI.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

import urllib3

from hyperliquid_assets.sources.errors import PermanentSourceError, TransientSourceError
from hyperliquid_assets.sources.retry import RetryPolicy, with_retries
from hyperliquid_assets.sources.urls import split_credentials


class ObjectSource(Protocol):
    def uri(self, key: str) -> str: ...

    def fetch(self, key: str) -> bytes | None: ...


class LocalMirror:
    """A folder laid out like the upstream's keys (the offline default, and how tests point at real files)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()

    def uri(self, key: str) -> str:
        return (self.root / key).as_uri()

    def fetch(self, key: str) -> bytes | None:
        path = self.root / key
        try:
            return path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise PermanentSourceError(self.uri(key), f"cannot read: {exc}") from exc


_S3_MISSING = {"NoSuchKey", "404", "NotFound"}
_S3_TRANSIENT = {"500", "502", "503", "504", "InternalError", "ServiceUnavailable", "SlowDown", "Throttling",
                 "RequestTimeout", "RequestTimeTooSkewed"}


class S3Bucket:
    """A bucket on S3 or any S3-compatible store. Credentials come from boto3's usual chain, or from the endpoint
    URL's user info (`http://ACCESS_KEY:SECRET@host:port`), which is then taken out of the URL."""

    def __init__(
        self,
        bucket: str,
        *,
        region_name: str | None = None,
        endpoint_url: str | None = None,
        requester_pays: bool = True,
        retry: RetryPolicy = RetryPolicy(),
        timeout_s: float = 60.0,
    ) -> None:
        self.bucket = bucket
        self.requester_pays = requester_pays
        self.retry = retry
        # Our own retry loop also covers a body cut short mid-read, which botocore does not retry.
        import boto3  # imported here: worker processes that only read a local mirror never pay for it (~0.4 s)
        import botocore.config

        config = botocore.config.Config(
            retries={"mode": "standard", "total_max_attempts": 1},
            connect_timeout=timeout_s,
            read_timeout=timeout_s,
        )
        credentials = split_credentials(endpoint_url) if endpoint_url else None
        keys = {}
        if credentials is not None and credentials.username is not None:
            keys = {"aws_access_key_id": credentials.username, "aws_secret_access_key": credentials.password or ""}
        self.endpoint_url = credentials.url if credentials else None
        self.client = boto3.client("s3", region_name=region_name, endpoint_url=self.endpoint_url, config=config,
                                   **keys)

    def uri(self, key: str) -> str:
        return f"s3://{self.bucket}/{key}"

    def fetch(self, key: str) -> bytes | None:
        return with_retries(lambda: self._get(key), self.retry, self.uri(key))

    def _get(self, key: str) -> bytes | None:
        import botocore.exceptions

        extra = {"RequestPayer": "requester"} if self.requester_pays else {}
        uri = self.uri(key)
        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key, **extra)
            body = response["Body"].read()
        except botocore.exceptions.ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code", ""))
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
            if code in _S3_MISSING:
                return None
            if code in _S3_TRANSIENT or status >= 500 or status == 429:
                raise TransientSourceError(uri, f"S3 {code or status}") from exc
            hint = " (requester-pays: credentials must allow s3:GetObject)" if code in ("AccessDenied", "403") else ""
            raise PermanentSourceError(uri, f"S3 {code or status}: {exc}{hint}") from exc
        except (
            botocore.exceptions.ConnectionError,
            botocore.exceptions.HTTPClientError,
            botocore.exceptions.ResponseStreamingError,
            botocore.exceptions.IncompleteReadError,
            botocore.exceptions.ReadTimeoutError,
            # Body.read() can surface urllib3's own errors (an SSL record error or reset mid-body) untranslated.
            urllib3.exceptions.HTTPError,
            ConnectionError,
            TimeoutError,
        ) as exc:
            raise TransientSourceError(uri, f"transfer failed: {exc}") from exc
        expected = response.get("ContentLength")
        if expected is not None and expected != len(body):
            raise TransientSourceError(uri, f"body has {len(body)} bytes, Content-Length said {expected}")
        return body


class HttpsHost:
    """Files under a base URL (data.binance.vision, a private mirror, or a local server in tests). A user name and
    password in the URL (`https://user:password@mirror/`) are sent as HTTP basic auth, never as part of a URI."""

    def __init__(self, base_url: str, *, retry: RetryPolicy = RetryPolicy(), timeout_s: float = 60.0) -> None:
        credentials = split_credentials(base_url.rstrip("/"))
        self.base_url = credentials.url
        self.retry = retry
        headers = {"User-Agent": "hyperliquid-assets/0.1"}
        if credentials.username is not None:
            headers |= urllib3.make_headers(basic_auth=f"{credentials.username}:{credentials.password or ''}")
        self.http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=timeout_s, read=timeout_s),
            retries=False,
            headers=headers,
        )

    def uri(self, key: str) -> str:
        return f"{self.base_url}/{key}"

    def fetch(self, key: str) -> bytes | None:
        return with_retries(lambda: self._get(key), self.retry, self.uri(key))

    def _get(self, key: str) -> bytes | None:
        uri = self.uri(key)
        try:
            response = self.http.request("GET", uri, preload_content=True, enforce_content_length=True)
        except (urllib3.exceptions.LocationParseError, urllib3.exceptions.LocationValueError) as exc:
            raise PermanentSourceError(uri, f"bad URL: {exc}") from exc
        except urllib3.exceptions.SSLError as exc:
            if "CERTIFICATE_VERIFY_FAILED" in str(exc) or "certificate" in str(exc).lower():
                raise PermanentSourceError(uri, f"TLS certificate rejected: {exc}") from exc
            raise TransientSourceError(uri, f"TLS error mid-transfer: {exc}") from exc
        except (urllib3.exceptions.HTTPError, ConnectionError, TimeoutError) as exc:
            raise TransientSourceError(uri, f"transfer failed: {exc}") from exc
        if response.status == 404:
            return None
        if response.status >= 500 or response.status == 429:
            raise TransientSourceError(uri, f"HTTP {response.status}")
        if response.status != 200:
            raise PermanentSourceError(uri, f"HTTP {response.status}")
        return response.data
