"""One partition of ingest: fetch and store the raw object, then clean it. Plain functions of picklable arguments,
so a window's partitions can run in worker processes; every expected failure comes back as a value naming what is
wrong, never as an exception that would cost the rest of the window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from hyperliquid_assets.clean_tables import CleanOutcome, StoredCopyRejected, clean_l2_hour, clean_trades_day
from hyperliquid_assets.formats.errors import CorruptObjectError
from hyperliquid_assets.inventory import read_inventory
from hyperliquid_assets.lake import Lake
from hyperliquid_assets.raw_objects import RawOutcome, store_l2_hour, store_trades_day
from hyperliquid_assets.settings import BinanceListing
from hyperliquid_assets.sources.layout import binance_trades_key, l2_book_key
from hyperliquid_assets.sources.errors import PermanentSourceError, SourceError, TransientSourceError
from hyperliquid_assets.sources.spec import SourceSpec


@dataclass(frozen=True)
class IngestResult:
    raw: RawOutcome | None  # None when the raw step was not selected or failed, or its copy was set aside
    clean: CleanOutcome | None  # None when the clean step was not selected, had no input, or failed
    error: str | None = None  # what went wrong, naming the object
    retryable: bool = False  # a source that kept failing (worth another run), not bad data

    @property
    def not_published(self) -> bool:
        return self.raw is not None and self.raw.status == "missing"


def _not_listed(source: SourceSpec, path, key: str) -> RawOutcome:
    return RawOutcome("missing", source.build().uri(key), path, {"per_inventory": True})


def _failure(exc: Exception, raw: RawOutcome | None = None) -> IngestResult:
    # Retries inside the source were exhausted: the source may recover, unlike a malformed object or a 403.
    exhausted = isinstance(exc, PermanentSourceError) and isinstance(exc.__cause__, TransientSourceError)
    return IngestResult(raw, None, f"{type(exc).__name__}: {exc}", retryable=exhausted)


def _rejection(clean: CleanOutcome) -> str:
    where = f"set aside as {clean.set_aside}" if clean.set_aside else "already set aside by a concurrent run"
    return (f"{clean.path.name} not written: the stored object fails its quality checks ({clean.problem}); the copy "
            f"was {where}, and the next run fetches it again")


def ingest_l2_hour(source: SourceSpec, lake: Lake, coin: str, hour: datetime, fetch: bool = True,
                   clean: bool = True) -> IngestResult:
    """Store the archive's hour object (unless already stored), then write its clean table."""
    raw = None
    try:
        if fetch:
            inventory = read_inventory(lake, coin, hour.date())
            if inventory is not None and hour.hour not in inventory.archive_hours and not lake.raw_l2_path(coin, hour).exists():
                # The inventory lists what is published: an hour it lacks is not fetched (a requester-pays GET).
                return IngestResult(_not_listed(source, lake.raw_l2_path(coin, hour), l2_book_key(coin, hour)), None)
            raw = store_l2_hour(source.build(), lake, coin, hour)
            if raw.status == "missing":
                return IngestResult(raw, None)
        if not clean:
            return IngestResult(raw, None)
        cleaned = clean_l2_hour(lake, coin, hour)
    except (SourceError, CorruptObjectError) as exc:
        return _failure(exc, None if isinstance(exc, StoredCopyRejected) else raw)
    if cleaned.status == "rejected":  # the raw copy was set aside: the partition holds nothing now
        return IngestResult(None, cleaned, _rejection(cleaned))
    return IngestResult(raw, cleaned if cleaned.status == "written" else None)


def ingest_trades_day(source: SourceSpec, lake: Lake, coin: str, listing: BinanceListing, day: date,
                      fetch: bool = True, clean: bool = True) -> IngestResult:
    """Store the Binance day zip and CHECKSUM (verified; unless already stored), then write its clean table."""
    raw = None
    try:
        if fetch:
            inventory = read_inventory(lake, coin, day)
            if inventory is not None and not inventory.binance_published and not lake.raw_trades_path(listing, day).exists():
                return IngestResult(_not_listed(source, lake.raw_trades_path(listing, day),
                                                binance_trades_key(listing, day)), None)
            raw = store_trades_day(source.build(), lake, listing, day)
            if raw.status == "missing":
                return IngestResult(raw, None)
        if not clean:
            return IngestResult(raw, None)
        cleaned = clean_trades_day(lake, coin, listing, day)
    except (SourceError, CorruptObjectError) as exc:
        return _failure(exc, None if isinstance(exc, StoredCopyRejected) else raw)
    if cleaned.status == "rejected":  # the zip and CHECKSUM were set aside: the partition holds nothing now
        return IngestResult(None, cleaned, _rejection(cleaned))
    return IngestResult(raw, cleaned if cleaned.status == "written" else None)


def ingest_l2_item(item: tuple[SourceSpec, Lake, str, datetime, bool, bool]) -> IngestResult:
    """`ingest_l2_hour(*item)`, for worker_pool.map_in_workers (one picklable argument)."""
    return ingest_l2_hour(*item)


def ingest_trades_item(item: tuple[SourceSpec, Lake, str, BinanceListing, date, bool, bool]) -> IngestResult:
    """`ingest_trades_day(*item)`, for worker_pool.map_in_workers."""
    return ingest_trades_day(*item)
