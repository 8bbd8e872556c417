"""Which archive hour objects a source holds for a day: the sensor's view of what the Hyperliquid archive has
published. Listing the real bucket is requester-pays too."""

from __future__ import annotations

import re
from datetime import date
from typing import Iterator

from hyperliquid_assets.sources.errors import PermanentSourceError, TransientSourceError
from hyperliquid_assets.sources.object_sources import LocalMirror, ObjectSource, S3Bucket
from hyperliquid_assets.sources.retry import with_retries

_HOUR_KEY = re.compile(r"^market_data/(\d{8})/(\d{1,2})/l2Book/([A-Za-z0-9]+)\.lz4$")


def _keys_under(source: ObjectSource, prefix: str) -> Iterator[tuple[str, int]]:
    """(key, size in bytes) of every object under `prefix`."""
    if isinstance(source, LocalMirror):
        folder = source.root / prefix
        if folder.is_dir():
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    yield path.relative_to(source.root).as_posix(), path.stat().st_size
        return
    if isinstance(source, S3Bucket):
        extra = {"RequestPayer": "requester"} if source.requester_pays else {}

        import botocore.exceptions  # here, not at import: ingest workers reading a mirror never need it

        def pages() -> list[dict]:
            try:
                paginator = source.client.get_paginator("list_objects_v2")
                return list(paginator.paginate(Bucket=source.bucket, Prefix=prefix, **extra))
            except botocore.exceptions.ClientError as exc:
                status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
                if status >= 500 or status == 429:
                    raise TransientSourceError(source.uri(prefix), f"listing failed: S3 {status}") from exc
                raise PermanentSourceError(source.uri(prefix), f"listing failed: {exc}") from exc
            except (botocore.exceptions.ConnectionError, botocore.exceptions.HTTPClientError) as exc:
                raise TransientSourceError(source.uri(prefix), f"listing failed: {exc}") from exc

        for page in with_retries(pages, source.retry, source.uri(prefix)):
            yield from ((item["Key"], int(item["Size"])) for item in page.get("Contents", []))
        return
    raise TypeError(f"cannot list {type(source).__name__}: only a local mirror or an S3 bucket")


def archive_hours(source: ObjectSource, day: date, coins: set[str]) -> dict[str, dict[int, int]]:
    """Per coin (of `coins`), the hours (0-23) of `day` whose L2 object the source holds, with the object's size."""
    found: dict[str, dict[int, int]] = {coin: {} for coin in coins}
    for key, size in _keys_under(source, f"market_data/{day:%Y%m%d}/"):
        match = _HOUR_KEY.match(key)
        if match and match.group(3) in found and match.group(1) == f"{day:%Y%m%d}":
            found[match.group(3)][int(match.group(2))] = size
    return found
