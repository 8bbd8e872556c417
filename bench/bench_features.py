"""Feature cost against the cost of just reading the inputs, on one synthetic coin-day in the clean schemas.

Builds in memory, then writes to a temp dir: ~144k book snapshots (one per ~0.6 s, 20 levels a side, list columns)
as 24 hourly Parquet files, and a 3,000,000-trade day as one Parquet file. Then, in the same run, the median of a
few repetitions of: (a) reading those files with polars, (b) book features at 1 s bars from the files, (c)
trade-flow features at 1 s bars from the file; (b) and (c) are printed as ratios to their read (target <= 3x).

    /work/main/.venv/bin/python bench/bench_features.py [--repeats 5] [--trades 3000000]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import date, datetime, timezone
from pathlib import Path

import numpy as np
import polars as pl

from hyperliquid_assets.features.bars import BarGrid
from hyperliquid_assets.features.book_features import book_features
from hyperliquid_assets.features.joined_features import joined_features
from hyperliquid_assets.features.labels import labels
from hyperliquid_assets.features.trade_flow_features import trade_flow_features
from hyperliquid_assets.formats.schemas import L2_BOOK_SCHEMA, TRADES_SCHEMA

DAY = date(2024, 1, 1)
LEVELS = 20
DAY_NS = 86_400 * 1_000_000_000


def _levels(values: np.ndarray, dtype: pl.DataType) -> pl.Series:
    return pl.Series(values).cast(pl.Array(dtype, LEVELS)).cast(pl.List(dtype))


def synthetic_book(rng: np.random.Generator, mean_gap_s: float = 0.6) -> pl.DataFrame:
    """A coin-day of 20-level books around a tick-rounded random-walk mid, one snapshot every ~0.6 s."""
    n = int(86_400 / mean_gap_s)
    start_ns = int(datetime.combine(DAY, datetime.min.time(), tzinfo=timezone.utc).timestamp()) * 1_000_000_000
    gaps = rng.uniform(0.25, 0.95, n) * mean_gap_s / 0.6
    received = start_ns + (np.cumsum(gaps) / gaps.sum() * (DAY_NS - 1_000_000)).astype(np.int64)
    mid = np.round(42_000 + np.cumsum(rng.normal(0, 2.0, n)))
    best_bid = mid - rng.integers(0, 2, n)
    best_ask = best_bid + rng.integers(1, 4, n)
    step = rng.integers(1, 6, (n, LEVELS)).astype(np.float64)
    step[:, 0] = 0
    bid_px = best_bid[:, None] - np.cumsum(step, axis=1)
    ask_px = best_ask[:, None] + np.cumsum(rng.integers(1, 6, (n, LEVELS)) * (np.arange(LEVELS) > 0), axis=1)
    frame = pl.DataFrame(
        {
            "received_time": pl.Series(received).cast(pl.Datetime("ns", "UTC")),
            "exchange_time": pl.Series((received - 900_000_000) // 1_000_000).cast(pl.Datetime("ms", "UTC")),
            "ver_num": np.ones(n, dtype=np.int64),
            "bid_px": _levels(bid_px, pl.Float64),
            "bid_sz": _levels(np.round(rng.exponential(1.0, (n, LEVELS)) + 1e-5, 5), pl.Float64),
            "bid_n": _levels(rng.integers(1, 10, (n, LEVELS)).astype(np.int32), pl.Int32),
            "ask_px": _levels(ask_px.astype(np.float64), pl.Float64),
            "ask_sz": _levels(np.round(rng.exponential(1.0, (n, LEVELS)) + 1e-5, 5), pl.Float64),
            "ask_n": _levels(rng.integers(1, 10, (n, LEVELS)).astype(np.int32), pl.Int32),
        }
    )
    return frame.cast(L2_BOOK_SCHEMA)  # type: ignore[arg-type]


def synthetic_trades(rng: np.random.Generator, n: int) -> pl.DataFrame:
    """n trades spread over the day, random-walk prices, exponential sizes, random aggressor sides."""
    start_us = int(datetime.combine(DAY, datetime.min.time(), tzinfo=timezone.utc).timestamp()) * 1_000_000
    times = start_us + np.sort(rng.integers(0, 86_400_000_000, n))
    price = np.round(42_000 * np.exp(np.cumsum(rng.normal(0, 1e-5, n))), 2)
    qty = np.round(rng.exponential(0.02, n) + 1e-5, 5)
    side = rng.choice(np.array([-1, 1], dtype=np.int8), n)
    ids = np.arange(n, dtype=np.int64) + 1_000_000
    return pl.DataFrame(
        {
            "time": pl.Series(times).cast(pl.Datetime("us", "UTC")),
            "trade_id": ids, "first_trade_id": ids, "last_trade_id": ids,
            "price": price, "qty": qty, "quote_qty": price * qty,
            "is_buyer_maker": side < 0, "side": side, "is_best_match": np.ones(n, dtype=bool),
        }
    ).cast(TRADES_SCHEMA)  # type: ignore[arg-type]


def _seconds(run) -> float:
    started = time.perf_counter()
    run()
    return time.perf_counter() - started


def _interleaved(pairs: dict[str, tuple], repeats: int) -> dict[str, list[tuple[float, float]]]:
    """Per repetition, each (read, features) pair back to back, so a load change on the machine hits both."""
    for read, features in pairs.values():  # warm-up: page cache and polars' first-call costs
        read(), features()
    timings: dict[str, list[tuple[float, float]]] = {name: [] for name in pairs}
    for _ in range(repeats):
        for name, (read, features) in pairs.items():
            timings[name].append((_seconds(read), _seconds(features)))
    return timings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--trades", type=int, default=3_000_000)
    args = parser.parse_args()
    rng = np.random.default_rng(7)
    grid = BarGrid.for_day(DAY, "1s")
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        book = synthetic_book(rng)
        book_dir = Path(tmp) / "l2_book"
        book_dir.mkdir()
        hours = book.with_columns(_hour=pl.col("received_time").dt.hour()).partition_by("_hour", as_dict=True)
        for (hour,), frame in sorted(hours.items()):
            frame.drop("_hour").write_parquet(book_dir / f"{hour:02d}.parquet")
        book_files = sorted(book_dir.glob("*.parquet"))
        trades_file = Path(tmp) / "trades.parquet"
        synthetic_trades(rng, args.trades).write_parquet(trades_file)
        book_mb = sum(f.stat().st_size for f in book_files) / 1e6
        print(f"inputs: {book.height:,} snapshots x {LEVELS} levels a side in {len(book_files)} hourly files "
              f"({book_mb:.1f} MB); {args.trades:,} trades ({trades_file.stat().st_size / 1e6:.1f} MB); "
              f"built in {time.perf_counter() - started:.1f} s")
        del book

        timings = _interleaved(
            {
                "book": (lambda: pl.read_parquet(book_files), lambda: book_features(pl.scan_parquet(book_files), grid)),
                "flow": (lambda: pl.read_parquet(trades_file),
                         lambda: trade_flow_features(pl.scan_parquet(trades_file), grid)),
            },
            args.repeats,
        )
        in_memory_book, in_memory_trades = pl.read_parquet(book_files), pl.read_parquet(trades_file)
        book_table = book_features(in_memory_book, grid)
        flow_table = trade_flow_features(in_memory_trades, grid)
        compute = _interleaved(
            {
                "book": (lambda: None, lambda: book_features(in_memory_book, grid)),
                "flow": (lambda: None, lambda: trade_flow_features(in_memory_trades, grid)),
                "joined": (lambda: None, lambda: joined_features(book_table, flow_table, grid)),
                "labels": (lambda: None, lambda: labels(book_table, grid)),
            },
            args.repeats,
        )

    median = lambda pairs, i: statistics.median(p[i] for p in pairs)  # noqa: E731
    ratio = lambda pairs: statistics.median(f / r for r, f in pairs)  # noqa: E731
    print(f"median of {args.repeats} runs, 1 s bars ({grid.bars:,} bars), {pl.thread_pool_size()} polars threads")
    print(f"(a) read book Parquet (all columns)         {median(timings['book'], 0) * 1e3:8.1f} ms")
    print(f"(a) read trades Parquet (all columns)       {median(timings['flow'], 0) * 1e3:8.1f} ms")
    print(f"(b) book features from the files            {median(timings['book'], 1) * 1e3:8.1f} ms"
          f"  = {ratio(timings['book']):4.2f}x read (median of per-run ratios; target <= 3x)")
    print(f"(c) trade-flow features from the file       {median(timings['flow'], 1) * 1e3:8.1f} ms"
          f"  = {ratio(timings['flow']):4.2f}x read (median of per-run ratios; target <= 3x)")
    print(f"    book features, frame already in memory  {median(compute['book'], 1) * 1e3:8.1f} ms")
    print(f"    flow features, frame already in memory  {median(compute['flow'], 1) * 1e3:8.1f} ms")
    print(f"    joined + cross-venue from the 2 tables  {median(compute['joined'], 1) * 1e3:8.1f} ms")
    print(f"    labels from the book table              {median(compute['labels'], 1) * 1e3:8.1f} ms")


if __name__ == "__main__":
    main()
