"""The sensor that notices what the upstreams newly publish and re-takes those coin-days' inventories; everything
after that (raw, clean, features, labels, models, backtests) follows by declarative automation.

The Hyperliquid archive is uploaded about once a month, with gaps and no guarantee, so each tick lists the last
HL_ARCHIVE_LOOKBACK_DAYS days of the archive (45 by default; requester-pays) and probes each coin's Binance file
of those days, skipping days already seen complete. The cursor keeps, per day and coin, the fingerprint of what was
published when it last requested an inventory; run keys carry the fingerprints, so a repeated tick never requests
the same inventory twice, and a day whose stored inventory is already current is not requested at all.
"""

import hashlib
import json
from datetime import date, datetime, timedelta, timezone
from typing import Iterable

import dagster as dg

from hyperliquid_assets.defs.ingest.jobs import upstream_inventory_job
from hyperliquid_assets.defs.partitions import SETTINGS, day_key
from hyperliquid_assets.defs.resources import BinanceVision, HyperliquidArchive, LakeResource
from hyperliquid_assets.inventory import read_inventory, take_inventories

RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"
_COMPLETE = "_complete"  # cursor flag: every coin had all 24 hours and its Binance day


def _today() -> date:
    return datetime.now(timezone.utc).date()


def lookback_days(today: date) -> list[date]:
    """The complete days a tick looks at: the last HL_ARCHIVE_LOOKBACK_DAYS, never before the first partition."""
    first = max(SETTINGS.start_date, today - timedelta(days=SETTINGS.archive_lookback_days))
    return [first + timedelta(days=n) for n in range((today - first).days)]


def _runs(days: Iterable[date]) -> list[tuple[date, date]]:
    """Sorted days grouped into contiguous (first, last) runs."""
    runs: list[list[date]] = []
    for day in sorted(days):
        if runs and day - runs[-1][1] == timedelta(days=1):
            runs[-1][1] = day
        else:
            runs.append([day, day])
    return [(first, last) for first, last in runs]


@dg.sensor(job=upstream_inventory_job, minimum_interval_seconds=SETTINGS.sensor_interval_s,
           default_status=dg.DefaultSensorStatus.RUNNING if SETTINGS.automation else dg.DefaultSensorStatus.STOPPED)
def upstream_sensor(context: dg.SensorEvaluationContext, hyperliquid_archive: HyperliquidArchive,
                    binance_vision: BinanceVision, lake: LakeResource):
    """Lists the archive (requester-pays) and probes Binance over the last HL_ARCHIVE_LOOKBACK_DAYS days, and
    requests upstream_inventory for each coin-day where something was newly published."""
    cursor: dict[str, dict] = json.loads(context.cursor) if context.cursor else {}
    archive, binance, store = hyperliquid_archive.spec().build(), binance_vision.spec().build(), lake.lake()
    listings = {coin: SETTINGS.listing(coin) for coin in SETTINGS.coins}
    days = lookback_days(_today())
    changed: dict[str, dict[date, str]] = {coin: {} for coin in SETTINGS.coins}
    for day in days:
        seen = cursor.setdefault(day.isoformat(), {})
        if seen.get(_COMPLETE):
            continue
        inventories = take_inventories(archive, binance, listings, day)
        for coin, inventory in inventories.items():
            fingerprint = inventory.fingerprint()
            stored = read_inventory(store, coin, day)
            if seen.get(coin) != fingerprint and (stored is None or stored.fingerprint() != fingerprint):
                if inventory.archive_hours or inventory.binance_published:
                    changed[coin][day] = fingerprint
            seen[coin] = fingerprint
        seen[_COMPLETE] = all(len(i.archive_hours) == 24 and i.binance_published for i in inventories.values())
    first_kept = days[0].isoformat() if days else _today().isoformat()
    cursor = {day: seen for day, seen in cursor.items() if day >= first_kept}
    requests = []
    for coin, fingerprints in changed.items():
        for first, last in _runs(fingerprints):
            digest = hashlib.sha256("".join(fp for d, fp in sorted(fingerprints.items()) if first <= d <= last)
                                    .encode()).hexdigest()[:12]
            requests.append(dg.RunRequest(
                run_key=f"inventory|{day_key(coin, first)}..{day_key(coin, last)}|{digest}",
                tags={RANGE_START: day_key(coin, first), RANGE_END: day_key(coin, last)},
            ))
    if requests:
        context.log.info("newly published: %s", "; ".join(
            f"{coin}: {', '.join(d.isoformat() for d in sorted(days_))}" for coin, days_ in changed.items() if days_))
    return dg.SensorResult(run_requests=requests, cursor=json.dumps(cursor, sort_keys=True))
