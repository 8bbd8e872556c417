"""Demo archive speed: generating the README demo's archive against ingesting it, measured in the same run.

  generate = hl-assets demo's work: write_demo_archive for the coins and days (every L2 hour .lz4, every Binance
             day zip + CHECKSUM) into a fresh mirror
  ingest   = the project's ingest of that archive: raw_objects.store_* + clean_tables.clean_* of every L2 hour and
             Binance day into a fresh lake (what the ingest assets run per partition)
The two run round-robin (generate, ingest, generate, ingest, ...) so background load hits both alike; medians of
--repeat runs. Target: generate / ingest <= 1.
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from hyperliquid_assets.clean_tables import clean_l2_hour, clean_trades_day
from hyperliquid_assets.demo.archive import write_demo_archive
from hyperliquid_assets.demo.market import DemoMarketParams
from hyperliquid_assets.lake import Lake
from hyperliquid_assets.raw_objects import store_l2_hour, store_trades_day
from hyperliquid_assets.settings import DEFAULT_LISTINGS
from hyperliquid_assets.sources.layout import BINANCE_HOST, HYPERLIQUID_BUCKET
from hyperliquid_assets.sources.object_sources import LocalMirror


def generate(mirror: Path, coins: list[str], start: date, days: int) -> str:
    summary = write_demo_archive(mirror, coins, start, days, DEFAULT_LISTINGS, DemoMarketParams(), seed=7)
    return str(summary)


def ingest(mirror: Path, lake_root: Path, coins: list[str], start: date, days: int) -> None:
    lake = Lake(lake_root)
    archive, vision = LocalMirror(mirror / HYPERLIQUID_BUCKET), LocalMirror(mirror / BINANCE_HOST)
    first = datetime(start.year, start.month, start.day, tzinfo=timezone.utc)
    for coin in coins:
        for h in range(24 * days):
            hour = first + timedelta(hours=h)
            store_l2_hour(archive, lake, coin, hour)
            clean_l2_hour(lake, coin, hour)
        for d in range(days):
            day = start + timedelta(days=d)
            store_trades_day(vision, lake, DEFAULT_LISTINGS[coin], day)
            clean_trades_day(lake, coin, DEFAULT_LISTINGS[coin], day)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--days", type=int, default=4)
    parser.add_argument("--coins", default="BTC,ETH")
    parser.add_argument("--start", default="2026-01-01")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    coins, start = args.coins.split(","), date.fromisoformat(args.start)
    runs: dict[str, list[float]] = {"generate": [], "ingest": []}
    summary = ""
    for _ in range(args.repeat):
        tmp = Path(tempfile.mkdtemp(prefix="bench-demo-"))
        try:
            started = time.perf_counter()
            summary = generate(tmp / "mirror", coins, start, args.days)
            runs["generate"].append(time.perf_counter() - started)
            started = time.perf_counter()
            ingest(tmp / "mirror", tmp / "lake", coins, start, args.days)
            runs["ingest"].append(time.perf_counter() - started)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    median = {name: statistics.median(times) for name, times in runs.items()}
    ratio = median["generate"] / median["ingest"]
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"\nDemo archive: {','.join(coins)} x {args.days} days from {start}: {summary}")
    for name, times in runs.items():
        each = ", ".join(f"{t:.2f}" for t in times)
        print(f"  {name:9s} {median[name]:7.2f} s  (min {min(times):6.2f}, runs {each})")
    verdict = "meets" if ratio <= 1.0 else "MISSES"
    print(f"  generate / ingest = {ratio:.2f}x  ({verdict} the <= 1x target); load average {load}")


if __name__ == "__main__":
    main()
