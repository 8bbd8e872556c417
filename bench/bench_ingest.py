"""Ingest speed: upstream object -> clean Parquet, as ratios to floors measured in the same run.

L2 hour (the real BTC hour from ../shared/data/real, else a demo hour):
  floor  = lz4 decompress + typed msgspec parse of every line (nothing kept)
  ours   = hyperliquid_assets: .lz4 -> clean Parquet on disk
  naive  = json.loads per line + Python loops -> long table -> Parquet
Binance day (a demo spot day with --trades rows, default 3,000,000):
  floor  = ISA-L inflate + polars read_csv of the same member
  ours   = hyperliquid_assets: .zip -> clean Parquet on disk
  naive  = zipfile + pandas read_csv -> to_parquet
Methods run round-robin so background load hits each alike; medians of --repeat runs. Peak memory is each
method's max RSS growth in a fresh child process.
"""

from __future__ import annotations

import argparse
import gc
import json
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from datetime import date, datetime, timezone
from io import BytesIO
from pathlib import Path

import lz4.frame
import msgspec
import polars as pl

from hyperliquid_assets.formats.binance_trades import inflate_single_member, parse_trades_zip
from hyperliquid_assets.formats.hyperliquid_l2 import parse_l2_book
from hyperliquid_assets.lake import write_parquet_atomic
from hyperliquid_assets.settings import PROJECT_ROOT, BinanceListing

REAL_HOUR = PROJECT_ROOT.parent / "shared/data/real/hyperliquid-archive/market_data/20240101/12/l2Book/BTC.lz4"
SPOT = BinanceListing("BTCUSDT", "spot", "trades")
SPOT_COLUMNS = {"id": pl.Int64, "price": pl.Float64, "qty": pl.Float64, "quote_qty": pl.Float64, "time": pl.Int64,
                "is_buyer_maker": pl.Boolean, "is_best_match": pl.Boolean}


class Level(msgspec.Struct, gc=False):
    px: float
    sz: float
    n: int


class Book(msgspec.Struct, gc=False):
    coin: str
    time: int
    levels: list[list[Level]]


class Raw(msgspec.Struct, gc=False):
    channel: str
    data: Book


class Line(msgspec.Struct, gc=False):
    time: str
    ver_num: int
    raw: Raw


LINE_DECODER = msgspec.json.Decoder(Line, strict=False)  # strict=False: "42727.0" decodes straight to float


def l2_floor(blob: bytes, out: Path) -> None:
    for line in lz4.frame.decompress(blob).splitlines():
        LINE_DECODER.decode(line)


def l2_ours(blob: bytes, out: Path) -> None:
    write_parquet_atomic(parse_l2_book(blob, "bench"), out, {})


def l2_naive(blob: bytes, out: Path) -> None:
    rows = {k: [] for k in ("received_time", "exchange_time", "side", "level", "px", "sz", "n")}
    for line in lz4.frame.decompress(blob).decode().splitlines():
        snapshot = json.loads(line)
        data = snapshot["raw"]["data"]
        for side, levels in enumerate(data["levels"]):
            for depth, level in enumerate(levels):
                rows["received_time"].append(snapshot["time"])
                rows["exchange_time"].append(data["time"])
                rows["side"].append(side)
                rows["level"].append(depth)
                rows["px"].append(float(level["px"]))
                rows["sz"].append(float(level["sz"]))
                rows["n"].append(level["n"])
    pl.DataFrame(rows).write_parquet(out)


def trades_floor(blob: bytes, out: Path) -> None:
    pl.read_csv(inflate_single_member(blob, "bench"), has_header=False, new_columns=list(SPOT_COLUMNS),
                schema_overrides=SPOT_COLUMNS)


def trades_ours(blob: bytes, out: Path) -> None:
    write_parquet_atomic(parse_trades_zip(blob, SPOT, "bench"), out, {}, compression_level=1)


def trades_naive(blob: bytes, out: Path) -> None:
    import pandas as pd

    with zipfile.ZipFile(BytesIO(blob)) as archive:
        frame = pd.read_csv(archive.open(archive.namelist()[0]), header=None, names=list(SPOT_COLUMNS))
    frame.to_parquet(out)


METHODS = {f.__name__: f for f in (l2_floor, l2_ours, l2_naive, trades_floor, trades_ours, trades_naive)}


def timed(method, blob: bytes, out: Path) -> float:
    gc.collect()
    started = time.perf_counter()
    method(blob, out)
    return time.perf_counter() - started


def _child_peak_rss_mb(method: str | None, input_path: Path) -> float:
    # VmHWM belongs to the exec'd address space; ru_maxrss would carry over the (large) parent's peak.
    run = f"b.METHODS[{method!r}](blob, Path({str(input_path)!r} + '.peak.parquet'))" if method else "pass"
    code = (f"import sys; sys.argv = ['x']; import bench_ingest as b; from pathlib import Path;"
            f"blob = Path({str(input_path)!r}).read_bytes(); {run};"
            "print([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1])")
    result = subprocess.run([sys.executable, "-c", code], cwd=Path(__file__).resolve().parent,
                            capture_output=True, text=True)
    return int(result.stdout.split()[-1]) / 1024 if result.returncode == 0 else float("nan")


def peak_memory_mb(method: str, input_path: Path) -> float:
    """Peak RSS of a fresh interpreter running `method` once, minus one that only imports and reads the input."""
    return _child_peak_rss_mb(method, input_path) - _child_peak_rss_mb(None, input_path)


def compare(title: str, names: list[str], blob: bytes, input_path: Path, repeat: int, target: float) -> None:
    outputs = {name: input_path.with_suffix(f".{name}.parquet") for name in names}
    for name in names:  # warm-up: first-call costs (imports, thread pools) are not what we measure
        timed(METHODS[name], blob, outputs[name])
    runs: dict[str, list[float]] = {name: [] for name in names}
    for _ in range(repeat):
        for name in names:
            runs[name].append(timed(METHODS[name], blob, outputs[name]))
    median = {name: statistics.median(times) for name, times in runs.items()}
    floor, ours, naive = (median[n] for n in names)
    print(f"\n{title}")
    for name in names:
        size = outputs[name].stat().st_size if outputs[name].exists() else 0
        print(f"  {name:13s} {median[name] * 1e3:8.1f} ms  (min {min(runs[name]) * 1e3:7.1f})"
              f"  peak +{peak_memory_mb(name, input_path):6.0f} MB" + (f"  parquet {size:,} B" if size else ""))
    verdict = "meets" if ours / floor <= target else "MISSES"
    print(f"  ours / floor = {ours / floor:.2f}x  ({verdict} the <= {target}x target)")
    print(f"  naive / ours = {naive / ours:.1f}x faster than the naive baseline")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--trades", type=int, default=3_000_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        tmp_dir = Path(tmp)
        if REAL_HOUR.exists():
            hour_path, label = REAL_HOUR, "real BTC hour 2024-01-01 12:00"
        else:
            from hyperliquid_assets.demo.archive import write_demo_archive

            write_demo_archive(tmp_dir / "mirror", ["BTC"], date(2026, 1, 1), 1, {"BTC": SPOT})
            hour_path, label = next((tmp_dir / "mirror").rglob("*.lz4")), "demo BTC hour"
        blob = hour_path.read_bytes()
        local_copy = tmp_dir / "hour.lz4"
        local_copy.write_bytes(blob)
        lines = lz4.frame.decompress(blob).count(b"\n")
        compare(f"L2 hour -> Parquet: {label}, {lines:,} snapshots, {len(blob):,} B lz4, "
                f"{len(lz4.frame.decompress(blob)) / 1e6:.1f} MB JSON",
                ["l2_floor", "l2_ours", "l2_naive"], blob, local_copy, args.repeat, target=2.0)
        lossless = pl.read_parquet(local_copy.with_suffix(".l2_ours.parquet")).equals(parse_l2_book(blob, "check"))
        size = local_copy.with_suffix(".l2_ours.parquet").stat().st_size
        print(f"  clean Parquet {size:,} B vs raw lz4 {len(blob):,} B ({size / len(blob):.2f}x), lossless: {lossless}")

        from hyperliquid_assets.demo.archive import write_binance_day

        zip_path = write_binance_day(tmp_dir / "BTCUSDT-trades-2026-01-01.zip", SPOT, date(2026, 1, 1), args.trades, seed=1)
        day = zip_path.read_bytes()
        compare(f"Binance spot trades day -> Parquet: {args.trades:,} trades, {len(day) / 1e6:.1f} MB zip",
                ["trades_floor", "trades_ours", "trades_naive"], day, zip_path, max(3, args.repeat // 2), target=1.4)


if __name__ == "__main__":
    main()
