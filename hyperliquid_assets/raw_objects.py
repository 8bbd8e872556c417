"""Fetch one upstream object, prove it whole, and store it byte for byte in the raw layer.

An object the upstream does not have yet is reported as `missing` (nothing is written and nothing stored is
touched); an object already stored is not fetched again, since upstream objects never change, unless the stored
copy fails its check (a disk fault, a crash before fsync): then it is set aside as `*.corrupt-<time>-...` and
fetched again. (The clean step sets aside a stored copy that passes this check but cannot be cleaned, so that
one is fetched again too.)
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from hyperliquid_assets.formats.binance_trades import verify_checksum
from hyperliquid_assets.formats.errors import CorruptObjectError
from hyperliquid_assets.formats.hyperliquid_l2 import SnapshotSpan, decompress_lz4, snapshot_span
from hyperliquid_assets.lake import Lake, StoredCopy, read_stored, set_aside, write_bytes_atomic
from hyperliquid_assets.settings import BinanceListing
from hyperliquid_assets.sources.errors import TransientSourceError
from hyperliquid_assets.sources.layout import binance_trades_key, checksum_key, l2_book_key
from hyperliquid_assets.sources.object_sources import ObjectSource
from hyperliquid_assets.sources.retry import RetryPolicy, with_retries

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RawOutcome:
    status: str  # "stored" (fetched now), "already_stored", or "missing" (upstream has no such object)
    source_uri: str
    path: Path
    facts: dict[str, Any] = field(default_factory=dict)


def store_l2_hour(source: ObjectSource, lake: Lake, coin: str, hour: datetime) -> RawOutcome:
    """The archive's hour object for `coin`, checked to be a complete LZ4 frame of snapshot lines."""
    key = l2_book_key(coin, hour)
    uri, path = source.uri(key), lake.raw_l2_path(coin, hour)
    facts: dict[str, Any] = {}
    try:
        stored = read_stored(path)
    except FileNotFoundError:
        stored = None
    if stored is not None:
        try:
            span = snapshot_span(decompress_lz4(stored.blob, str(path)), str(path))
            return RawOutcome("already_stored", uri, path, _l2_facts(stored.blob, span))
        except CorruptObjectError as exc:
            _set_aside_corrupt([stored], facts, exc)
    blob = source.fetch(key)
    if blob is None:
        return RawOutcome("missing", uri, path, facts)
    span = snapshot_span(decompress_lz4(blob, uri), uri)
    write_bytes_atomic(path, blob)
    return RawOutcome("stored", uri, path, {**_l2_facts(blob, span), **facts})


def _set_aside_corrupt(copies: list[StoredCopy], facts: dict[str, Any], problem: CorruptObjectError) -> None:
    """Move the stored files of one object aside (the object first) and note where in `facts`."""
    targets = [set_aside(copy.path, copy.identity) for copy in copies]
    if targets[0] is not None:
        facts["set_aside_corrupt_copy"] = str(targets[0])
    where = targets[0] or "already set aside by a concurrent run"
    log.warning("stored copy failed its check (%s); set aside (%s) and fetching again", problem, where)


def _l2_facts(blob: bytes, span: SnapshotSpan) -> dict[str, Any]:
    return {
        "bytes": len(blob),
        "sha256": hashlib.sha256(blob).hexdigest(),
        "snapshots": span.snapshots,
        "first_snapshot_time": span.first_received,
        "last_snapshot_time": span.last_received,
    }


def store_trades_day(
    source: ObjectSource,
    lake: Lake,
    listing: BinanceListing,
    day: date,
    checksum_retry: RetryPolicy = RetryPolicy(max_attempts=3, base_delay_s=1.0),
) -> RawOutcome:
    """The day's zip and its .CHECKSUM; the zip's sha256 is verified before either is stored."""
    key = binance_trades_key(listing, day)
    uri = source.uri(key)
    path, checksum_path = lake.raw_trades_path(listing, day), lake.raw_trades_checksum_path(listing, day)
    facts: dict[str, Any] = {}
    try:
        stored, stored_checksum = read_stored(path), read_stored(checksum_path)
    except FileNotFoundError:
        stored = None
    if stored is not None:
        try:
            sha256 = verify_checksum(stored.blob, stored_checksum.blob, str(path))
            return RawOutcome("already_stored", uri, path, {"bytes": len(stored.blob), "sha256": sha256})
        except CorruptObjectError as exc:
            _set_aside_corrupt([stored, stored_checksum], facts, exc)

    def fetch_verified() -> tuple[bytes, bytes] | None:
        checksum = source.fetch(checksum_key(key))
        blob = source.fetch(key)
        if blob is None or checksum is None:
            return None
        try:
            verify_checksum(blob, checksum, uri)
        except CorruptObjectError as exc:
            # A body corrupted in transit, or a CHECKSUM published before its zip: both may mend on refetch.
            raise TransientSourceError(uri, exc.problem) from exc
        return blob, checksum

    fetched = with_retries(fetch_verified, checksum_retry, uri)
    if fetched is None:
        return RawOutcome("missing", uri, path, facts)
    blob, checksum = fetched
    write_bytes_atomic(checksum_path, checksum)
    write_bytes_atomic(path, blob)
    return RawOutcome("stored", uri, path, {"bytes": len(blob), "sha256": hashlib.sha256(blob).hexdigest(), **facts})
