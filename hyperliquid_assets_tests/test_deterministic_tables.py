"""The same input gives the same bytes: every clean, feature and label table of a demo window, built from raw
objects in fresh processes, is byte-identical across reruns and across polars thread counts (polars fixes its
thread pool at import, hence one process per run)."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest

from hyperliquid_assets.demo.archive import write_demo_archive
from hyperliquid_assets.demo.market import DemoMarketParams
from hyperliquid_assets.lake import Lake
from hyperliquid_assets.settings import DEFAULT_LISTINGS

DAY1 = date(2026, 1, 1)

# Raw -> clean -> every research table for BTC over two days, at 1 s bars (86,400 bars a day, many groups) and
# 1 min bars (1,440 bars: few groups for many trades, where polars sums partial sums per thread).
BUILD_LAKE = """
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from hyperliquid_assets.clean_tables import clean_l2_hour, clean_trades_day
from hyperliquid_assets.lake import Lake
from hyperliquid_assets.raw_objects import store_l2_hour, store_trades_day
from hyperliquid_assets.research_tables import (
    book_features_day, joined_features_day, labels_day, trade_flow_features_day)
from hyperliquid_assets.settings import DEFAULT_LISTINGS
from hyperliquid_assets.sources.layout import BINANCE_HOST, HYPERLIQUID_BUCKET
from hyperliquid_assets.sources.object_sources import LocalMirror

mirror, root = Path(sys.argv[1]), Path(sys.argv[2])
days = [date(2026, 1, 1) + timedelta(days=n) for n in range(2)]
listing = DEFAULT_LISTINGS["BTC"]
lake = Lake(root)
hyperliquid, binance = LocalMirror(mirror / HYPERLIQUID_BUCKET), LocalMirror(mirror / BINANCE_HOST)
for day in days:
    for h in range(24):
        hour = datetime(day.year, day.month, day.day, h, tzinfo=timezone.utc)
        store_l2_hour(hyperliquid, lake, "BTC", hour)
        assert clean_l2_hour(lake, "BTC", hour).status == "written"
    store_trades_day(binance, lake, listing, day)
    assert clean_trades_day(lake, "BTC", listing, day).status == "written"
for bar in ("1s", "1m"):  # one lake: the bar is part of every research table's path
    for step in (book_features_day, trade_flow_features_day, joined_features_day, labels_day):
        for day in days:
            assert step(Lake(root, bar=bar), "BTC", day, bar).status == "written"
"""


@pytest.fixture(scope="module")
def mirror(tmp_path_factory):
    root = tmp_path_factory.mktemp("mirror")
    write_demo_archive(root, ["BTC"], DAY1, 2, DEFAULT_LISTINGS,
                       DemoMarketParams(snapshot_gap_s=3.0, trades_per_hour=3000), seed=5)
    return root


def _build(mirror: Path, root: Path, threads: int) -> dict[str, str]:
    """Build the lake in a fresh process with `threads` polars threads; sha256 of every Parquet file."""
    env = {**os.environ, "POLARS_MAX_THREADS": str(threads)}
    subprocess.run([sys.executable, "-c", BUILD_LAKE, str(mirror), str(root)], check=True, env=env)
    files = list(root.rglob("*.parquet"))
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def test_every_table_is_byte_identical_across_reruns_and_thread_counts(mirror, tmp_path):
    one_thread = _build(mirror, tmp_path / "threads-1", 1)
    two_threads = _build(mirror, tmp_path / "threads-2", 2)
    two_threads_again = _build(mirror, tmp_path / "threads-2-again", 2)

    for bar in ("1s", "1m"):
        relative = Lake(Path(), bar=bar)
        for day in (DAY1, DAY1 + timedelta(days=1)):
            expected = [relative.feature_path(t, "BTC", day) for t in ("book_features", "trade_flow_features", "features")]
            expected.append(relative.labels_path("BTC", day))
            assert {p.as_posix() for p in expected} <= set(one_thread)
    assert len([p for p in one_thread if p.startswith("clean/")]) == 48 + 2

    differing = sorted(p for p in one_thread if one_thread[p] != two_threads.get(p))
    assert differing == [], "1 thread vs 2 threads"
    assert two_threads == two_threads_again, "rerun at 2 threads"
