"""Ingest speed: upstream object -> clean Parquet, as ratios to floors and peers measured in the same run.

Sections (each runs its methods round-robin so background load hits them alike; figures are medians):
1. L2 hour in process (the real BTC hour from ../shared/data/real, else a demo hour):
     floor      lz4 decompress + typed msgspec parse of every line (nothing kept)
     ours       parse -> clean Parquet (staged, fsynced), as the target and earlier figures measure it; the next
                row adds the blocking quality checks, i.e. what the l2_book asset does after reading the object
     general    the same with the general parser (msgspec; used when an object is not in the canonical layout or
                the C scanner is not built)
     arrow      the previous parser: Arrow's JSON reader with an explicit schema + Arrow compute, pandas-free
     naive      json.loads per line + Python loops -> long table -> Parquet
2. Whole process, one hour: `python -c` floor (import lz4 + msgspec, parse) against `hl-assets convert l2`, the
   public converter hyperliquid-data 0.1.0 (installed from PyPI into a scratch venv under ~/.cache, called through
   its internals stream_lz4_lines/_parse_snapshot/_write_parquet) and a naive json.loads process. Peak memory is
   each child's max RSS from wait4.
3. Binance day (a synthetic spot day of --trades rows): floor (ISA-L inflate + polars read_csv) in process and as
   a process; ours (parse -> Parquet at zstd 1, staged), with the blocking checks; `hl-assets convert trades`
   against the trades asset's clean_trades_day (both read the file and verify its CHECKSUM); pandas.
4. Backfill: the 24 hours of one coin-day (copies of the real hour) through worker_pool.map_in_workers doing what
   the asset does per hour (fetch from the local mirror, store raw, clean), for several workers x threads
   settings, each in its own process (a fork server is started once per process with its thread limit), beside
   the floor (the msgspec parse in 2 worker processes) in hours/s.
The load average is printed before and after.
"""

from __future__ import annotations

import argparse
import gc
import json
import logging
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from datetime import date, datetime, timedelta, timezone
from io import BytesIO
from pathlib import Path

import lz4.frame
import msgspec
import polars as pl

from hyperliquid_assets.formats.binance_trades import inflate_single_member, parse_trades_zip
from hyperliquid_assets.formats.hyperliquid_l2 import _parse_general, decompress_lz4, parse_l2_book
from hyperliquid_assets.lake import Lake, write_parquet_atomic
from hyperliquid_assets.quality import l2_book_quality, trades_quality
from hyperliquid_assets.settings import PROJECT_ROOT, BinanceListing

REAL_HOUR = PROJECT_ROOT.parent / "shared/data/real/hyperliquid-archive/market_data/20240101/12/l2Book/BTC.lz4"
HOUR = datetime(2024, 1, 1, 12, tzinfo=timezone.utc)
SPOT = BinanceListing("BTCUSDT", "spot", "trades")
SPOT_COLUMNS = {"id": pl.Int64, "price": pl.Float64, "qty": pl.Float64, "quote_qty": pl.Float64, "time": pl.Int64,
                "is_buyer_maker": pl.Boolean, "is_best_match": pl.Boolean}
PEER = "hyperliquid-data==0.1.0"
PEER_VENV = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "hyperliquid-assets-bench" / "peer-venv"
TARGETS = {"in_process": 1.5, "process_floor": 3.5, "process_peer": 2.0, "trades": 1.4, "backfill": 0.6}


# ---- floors and baselines, in process ----

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
    write_parquet_atomic(parse_l2_book(blob, "bench", "BTC"), out, {})


def l2_ours_checked(blob: bytes, out: Path) -> None:
    book = parse_l2_book(blob, "bench", "BTC")
    assert not l2_book_quality(book, HOUR).corrupt
    write_parquet_atomic(book, out, {})


def l2_general(blob: bytes, out: Path) -> None:  # with the checks, like the arrow and naive rows
    book = _parse_general(decompress_lz4(blob, "bench"), "bench", "BTC")
    assert not l2_book_quality(book, HOUR).corrupt
    write_parquet_atomic(book, out, {})


def l2_arrow(blob: bytes, out: Path) -> None:
    """The parser this project had before the C scanner, without its pandas import (list_slice, min_max)."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.json as pa_json

    level = pa.struct([("px", pa.string()), ("sz", pa.string()), ("n", pa.int32())])
    data_type = pa.struct([("coin", pa.string()), ("time", pa.int64()), ("levels", pa.list_(pa.list_(level)))])
    schema = pa.schema([("time", pa.string()), ("ver_num", pa.int64()),
                        ("raw", pa.struct([("channel", pa.string()), ("data", data_type)]))])
    table = pa_json.read_json(pa.input_stream(BytesIO(blob), compression="lz4"),
                              read_options=pa_json.ReadOptions(block_size=4 << 20),
                              parse_options=pa_json.ParseOptions(explicit_schema=schema))
    payload = table.column("raw").combine_chunks().field("data")
    levels = payload.field("levels")
    assert pc.min_max(pc.list_value_length(levels)).as_py() == {"min": 2, "max": 2}
    columns = {
        "received_time": pl.from_arrow(table.column("time")).str.to_datetime(
            "%Y-%m-%dT%H:%M:%S%.f", time_unit="ns", time_zone="UTC").to_arrow(),
        "exchange_time": pc.cast(payload.field("time"), pa.timestamp("ms", "UTC")),
        "ver_num": table.column("ver_num").combine_chunks(),
    }
    for index, side in enumerate(("bid", "ask")):
        side_levels = pc.list_slice(levels, index, index + 1).flatten()
        flat = side_levels.flatten()
        for field, dtype in (("px", pa.float64()), ("sz", pa.float64()), ("n", pa.int32())):
            columns[f"{side}_{field}"] = pa.ListArray.from_arrays(side_levels.offsets, pc.cast(flat.field(field), dtype))
    book = pl.from_arrow(pa.table(columns))
    assert not l2_book_quality(book, HOUR).corrupt
    write_parquet_atomic(book, out, {})


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


def trades_ours_checked(blob: bytes, out: Path) -> None:
    trades = parse_trades_zip(blob, SPOT, "bench")
    assert not trades_quality(trades, datetime(2026, 1, 1, tzinfo=timezone.utc)).corrupt
    write_parquet_atomic(trades, out, {}, compression_level=1)


def trades_naive(blob: bytes, out: Path) -> None:
    import pandas as pd

    with zipfile.ZipFile(BytesIO(blob)) as archive:
        frame = pd.read_csv(archive.open(archive.namelist()[0]), header=None, names=list(SPOT_COLUMNS))
    frame.to_parquet(out)


def timed(method: Callable[[], object]) -> float:
    gc.collect()
    started = time.perf_counter()
    method()
    return time.perf_counter() - started


def round_robin(methods: dict[str, Callable[[], object]], repeat: int, warmup: int = 1) -> dict[str, list[float]]:
    """Each method `warmup` times (first-call costs are not what is measured here), then `repeat` rounds."""
    for method in methods.values():
        for _ in range(warmup):
            method()
    runs: dict[str, list[float]] = {name: [] for name in methods}
    for _ in range(repeat):
        for name, method in methods.items():
            runs[name].append(timed(method))
    return runs


def ms(seconds: float) -> str:
    return f"{seconds * 1e3:8.1f} ms"


def report(title: str, runs: dict[str, list[float]], floor: str, notes: dict[str, str] | None = None) -> dict:
    """Prints medians and each method's ratio to the floor; returns the ratios. A ratio is the median over rounds of
    (method / floor) within the round: rounds are interleaved, so a pair shares its background load, which drifts
    over a run far more than it does within a round."""
    medians = {name: statistics.median(times) for name, times in runs.items()}
    ratios = {name: statistics.median(t / f for t, f in zip(times, runs[floor])) for name, times in runs.items()}
    print(f"\n{title}")
    for name, times in runs.items():
        note = (notes or {}).get(name, "")
        print(f"  {name:28s} {ms(medians[name])}  (min {ms(min(times)).strip()})  {ratios[name]:5.2f}x floor  {note}")
    return ratios


# ---- whole processes ----

FLOOR_PROCESS = """
import sys, lz4.frame, msgspec
class Level(msgspec.Struct, gc=False):
    px: float; sz: float; n: int
class Book(msgspec.Struct, gc=False):
    coin: str; time: int; levels: list[list[Level]]
class Raw(msgspec.Struct, gc=False):
    channel: str; data: Book
class Line(msgspec.Struct, gc=False):
    time: str; ver_num: int; raw: Raw
decode = msgspec.json.Decoder(Line, strict=False).decode
for line in lz4.frame.decompress(open(sys.argv[1], 'rb').read()).splitlines():
    decode(line)
"""

NAIVE_PROCESS = """
import sys, json, lz4.frame, polars as pl
rows = {k: [] for k in ("received_time", "exchange_time", "side", "level", "px", "sz", "n")}
for line in lz4.frame.decompress(open(sys.argv[1], 'rb').read()).decode().splitlines():
    snapshot = json.loads(line)
    data = snapshot["raw"]["data"]
    for side, levels in enumerate(data["levels"]):
        for depth, level in enumerate(levels):
            rows["received_time"].append(snapshot["time"]); rows["exchange_time"].append(data["time"])
            rows["side"].append(side); rows["level"].append(depth)
            rows["px"].append(float(level["px"])); rows["sz"].append(float(level["sz"])); rows["n"].append(level["n"])
pl.DataFrame(rows).write_parquet(sys.argv[2])
"""

PEER_PROCESS = """
import sys, json
from pathlib import Path
from hyperliquid_data.s3io import stream_lz4_lines
from hyperliquid_data.sources.l2book import _parse_snapshot, _write_parquet
rows = []
for raw in stream_lz4_lines(Path(sys.argv[1])):
    if not raw or raw == b"\\n":
        continue
    snapshot = _parse_snapshot(json.loads(raw), 20)
    if snapshot is not None:
        rows.append(snapshot)
_write_parquet(rows, "BTC", Path(sys.argv[2]))
"""

TRADES_FLOOR_PROCESS = """
import sys, polars as pl
from isal import isal_zlib
from hyperliquid_assets.formats.binance_trades import inflate_single_member
columns = {"id": pl.Int64, "price": pl.Float64, "qty": pl.Float64, "quote_qty": pl.Float64, "time": pl.Int64,
           "is_buyer_maker": pl.Boolean, "is_best_match": pl.Boolean}
pl.read_csv(inflate_single_member(open(sys.argv[1], 'rb').read(), "bench"), has_header=False,
            new_columns=list(columns), schema_overrides=columns)
"""


# Children are started by this small launcher, not by the benchmark itself: Linux counts the RSS a child had before
# exec in its ru_maxrss, and a child forked (or vforked) from this process would report this process's size.
LAUNCHER = """
import json, os, sys, time
quiet = [(os.POSIX_SPAWN_OPEN, fd, os.devnull, os.O_WRONLY, 0) for fd in (1, 2)]
for line in sys.stdin:
    argv = json.loads(line)
    started = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, os.environ, file_actions=quiet)
    _, status, usage = os.wait4(pid, 0)
    print(json.dumps([time.perf_counter() - started, usage.ru_maxrss, os.waitstatus_to_exitcode(status)]), flush=True)
"""
_launcher: list[subprocess.Popen] = []


def run_process(argv: list[str]) -> tuple[float, float]:
    """Wall time and peak RSS (MB, from wait4 in the launcher) of one child process; fails loudly if it fails."""
    if not _launcher:
        _launcher.append(subprocess.Popen([sys.executable, "-S", "-c", LAUNCHER], stdin=subprocess.PIPE,
                                          stdout=subprocess.PIPE, text=True))
    launcher = _launcher[0]
    launcher.stdin.write(json.dumps([str(a) for a in argv]) + "\n")
    launcher.stdin.flush()
    elapsed, max_rss_kb, status = json.loads(launcher.stdout.readline())
    if status != 0:
        failed = subprocess.run(argv, capture_output=True, text=True)
        raise RuntimeError(f"{argv[:3]} exited {status}: {failed.stderr[-2000:]}")
    return elapsed, max_rss_kb / 1024


def processes_round_robin(commands: dict[str, list[str]], repeat: int) -> tuple[dict, dict]:
    for argv in commands.values():  # warm the page cache and the .pyc files
        run_process(argv)
    times: dict[str, list[float]] = {name: [] for name in commands}
    peaks: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(repeat):
        for name, argv in commands.items():
            elapsed, peak = run_process(argv)
            times[name].append(elapsed)
            peaks[name].append(peak)
    return times, {name: statistics.median(values) for name, values in peaks.items()}


def peer_python() -> Path | None:
    """The scratch venv's python with hyperliquid-data installed from PyPI (made once, reused), or None."""
    python = PEER_VENV / "bin" / "python"
    if python.exists() and subprocess.run([python, "-c", "import hyperliquid_data"], capture_output=True).returncode == 0:
        return python
    uv = shutil.which("uv") or str(Path(sys.executable).parent / "uv")
    try:
        subprocess.run([uv, "venv", "--quiet", "--python", sys.executable, str(PEER_VENV)], check=True,
                       capture_output=True)
        subprocess.run([uv, "pip", "install", "--quiet", "--python", str(python), PEER], check=True,
                       capture_output=True)
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        print(f"  could not install {PEER} into {PEER_VENV}: {exc} {detail.decode(errors='replace')[-300:]}")
        return None
    return python


# ---- backfill ----

def fetch_store_clean_hour(job: tuple[str, str, str]) -> str:
    """What the ingest assets do for one partition hour: fetch from the local mirror, store raw, clean."""
    from hyperliquid_assets.clean_tables import clean_l2_hour
    from hyperliquid_assets.raw_objects import store_l2_hour
    from hyperliquid_assets.sources.object_sources import LocalMirror

    mirror, lake_root, hour_iso = job
    hour = datetime.fromisoformat(hour_iso)
    lake = Lake(lake_root)
    store_l2_hour(LocalMirror(Path(mirror)), lake, "BTC", hour)
    return clean_l2_hour(lake, "BTC", hour).status


def floor_hour(path: str) -> int:
    n = 0
    for line in lz4.frame.decompress(Path(path).read_bytes()).splitlines():
        LINE_DECODER.decode(line)
        n += 1
    return n


def write_mirror(root: Path, blob: bytes, hours: int) -> list[datetime]:
    """`hours` copies of one hour object as hours 0.. of 2024-01-01 in the archive's layout."""
    from hyperliquid_assets.sources.layout import l2_book_key

    stamps = [datetime(2024, 1, 1, tzinfo=timezone.utc) + timedelta(hours=h) for h in range(hours)]
    for hour in stamps:
        path = root / l2_book_key("BTC", hour)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(blob)
    return stamps


def backfill_child(mirror: str, hours: int, workers: int, threads: int, runs: int) -> None:
    """Runs in its own process (a fork server per thread limit): `runs` timed backfills, the first one cold (it
    starts the fork server), as JSON on stdout."""
    import bench_ingest  # by module name, so workers import it instead of looking in their own __main__
    from hyperliquid_assets.worker_pool import map_in_workers

    stamps = [datetime(2024, 1, 1, tzinfo=timezone.utc) + timedelta(hours=h) for h in range(hours)]
    seconds = []
    with tempfile.TemporaryDirectory(dir=Path(mirror).parent) as lakes:
        for run in range(runs):
            jobs = [(mirror, f"{lakes}/lake{run}", hour.isoformat()) for hour in stamps]
            started = time.perf_counter()
            statuses = [result for _, result in map_in_workers(bench_ingest.fetch_store_clean_hour, jobs, workers, threads)]
            seconds.append(time.perf_counter() - started)
            assert statuses == ["written"] * hours, statuses
    print(json.dumps(seconds))


def backfill_section(mirror: Path, hours: int, settings: list[tuple[int, int]], repeat: int) -> dict:
    paths = sorted(str(p) for p in mirror.rglob("*.lz4"))
    floor_pool = ProcessPoolExecutor(2, mp_context=__import__("multiprocessing").get_context("spawn"))
    list(floor_pool.map(floor_hour, paths[:2]))  # started and warm
    rates: dict[str, list[float]] = {"floor: msgspec parse, 2 workers": []}
    cold: dict[str, list[float]] = {}
    for _ in range(repeat):
        started = time.perf_counter()
        assert sum(floor_pool.map(floor_hour, paths)) > 0
        rates["floor: msgspec parse, 2 workers"].append(hours / (time.perf_counter() - started))
        for workers, threads in settings:
            name = f"ours: {workers} workers x {threads} threads"
            result = subprocess.run([sys.executable, __file__, "--backfill-child", str(mirror), str(hours), str(workers),
                                     str(threads), "2"], capture_output=True, text=True, cwd=Path(__file__).parent)
            if result.returncode != 0:
                raise RuntimeError(result.stderr[-3000:])
            first, warm = json.loads(result.stdout.strip().splitlines()[-1])
            rates.setdefault(name, []).append(hours / warm)
            cold.setdefault(name, []).append(hours / first)
    floor_pool.shutdown()
    floor_rates = rates["floor: msgspec parse, 2 workers"]
    paired = {name: statistics.median(r / f for r, f in zip(values, floor_rates)) for name, values in rates.items()}
    print(f"\nBackfill: {hours} hours of one coin (copies of the real hour), fetch from the local mirror + store raw +"
          " clean per hour; hours/s (higher is better; ratios are medians of per-round ratios)")
    for name, values in rates.items():
        first = f"  first pool in a process {statistics.median(cold[name]):5.1f}/s" if name in cold else ""
        print(f"  {name:34s} {statistics.median(values):6.1f}/s  {paired[name]:5.2f}x floor{first}")
    return paired


# ---- main ----

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=9)
    parser.add_argument("--trades", type=int, default=3_000_000)
    parser.add_argument("--hours", type=int, default=24)
    parser.add_argument("--sections", default="hour,process,trades,backfill")
    parser.add_argument("--backfill-settings", default="1x2,2x1,2x2,3x1", help="workers x threads per worker")
    parser.add_argument("--backfill-child", nargs=5, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.backfill_child:
        mirror, hours, workers, threads, runs = args.backfill_child
        backfill_child(mirror, int(hours), int(workers), int(threads), int(runs))
        return
    sections = set(args.sections.split(","))
    load_before = os.getloadavg()
    print(f"load average before: {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f} on {os.cpu_count()} cores;"
          f" --repeat {args.repeat}")
    ratios: dict[str, float] = {}
    with tempfile.TemporaryDirectory(dir=PROJECT_ROOT / "data") as tmp:
        tmp_dir = Path(tmp)
        if REAL_HOUR.exists():
            hour_path, label = REAL_HOUR, "real BTC hour 2024-01-01 12:00"
        else:
            from hyperliquid_assets.demo.archive import write_demo_archive

            write_demo_archive(tmp_dir / "mirror", ["BTC"], date(2024, 1, 1), 1, {"BTC": SPOT})
            hour_path, label = sorted((tmp_dir / "mirror").rglob("*.lz4"))[12], "demo BTC hour"
        blob = hour_path.read_bytes()
        local_hour = tmp_dir / "BTC.lz4"
        local_hour.write_bytes(blob)
        text = lz4.frame.decompress(blob)
        print(f"L2 input: {label}, {text.count(bytes([10])):,} snapshots, {len(blob):,} B lz4,"
              f" {len(text) / 1e6:.1f} MB JSON")

        if "hour" in sections:
            out = {name: tmp_dir / f"{name}.parquet" for name in ("floor", "ours", "checked", "general", "arrow",
                                                                   "naive")}
            methods = {"floor": lambda: l2_floor(blob, out["floor"]), "ours": lambda: l2_ours(blob, out["ours"]),
                       "ours + blocking checks": lambda: l2_ours_checked(blob, out["checked"]),
                       "general parser": lambda: l2_general(blob, out["general"]),
                       "arrow json reader": lambda: l2_arrow(blob, out["arrow"]),
                       "naive json.loads": lambda: l2_naive(blob, out["naive"])}
            runs = round_robin(methods, args.repeat)
            hour_ratios = report("1. L2 hour -> clean Parquet, in process (general, arrow: + checks, like the row above)",
                                 runs, "floor")
            ratios["in_process"] = hour_ratios["ours"]
            same = pl.read_parquet(out["ours"]).equals(parse_l2_book(blob, "x")) and \
                pl.read_parquet(out["general"]).equals(pl.read_parquet(out["ours"])) and \
                pl.read_parquet(out["arrow"]).equals(pl.read_parquet(out["ours"]))
            print(f"  ours, general and arrow write equal tables: {same}; clean hour {out['ours'].stat().st_size:,} B"
                  f" vs {len(blob):,} B lz4; naive is {hour_ratios['naive json.loads'] / hour_ratios['ours']:.1f}x slower"
                  " than ours")

        if "process" in sections:
            python, hl_assets = sys.executable, str(Path(sys.executable).parent / "hl-assets")
            commands = {
                "floor process": [python, "-c", FLOOR_PROCESS, str(local_hour)],
                "hl-assets convert l2": [hl_assets, "convert", "l2", str(local_hour), str(tmp_dir / "cli.parquet"),
                                         "--coin", "BTC"],
                "naive json.loads process": [python, "-c", NAIVE_PROCESS, str(local_hour), str(tmp_dir / "n.parquet")],
            }
            peer = peer_python()
            if peer:
                commands["hyperliquid-data 0.1.0"] = [str(peer), "-c", PEER_PROCESS, str(local_hour),
                                                      str(tmp_dir / "peer.parquet")]
            times, peaks = processes_round_robin(commands, args.repeat)
            process_ratios = report("2. Whole process, one hour (wall time from exec to exit; peak RSS from wait4)",
                                    times, "floor process", {name: f"peak RSS {peaks[name]:5.0f} MB" for name in commands})
            ratios["process_floor"] = process_ratios["hl-assets convert l2"]
            other = "hyperliquid-data 0.1.0" if peer else "naive json.loads process"
            ratios["process_peer"] = statistics.median(
                p / o for p, o in zip(times[other], times["hl-assets convert l2"]))
            print(f"  {other} / hl-assets convert l2 = {ratios['process_peer']:.2f}x"
                  + ("" if peer else f" ({PEER} could not be installed: compared with the naive baseline instead)"))

        if "trades" in sections:
            from hyperliquid_assets.clean_tables import clean_trades_day
            from hyperliquid_assets.cli import main as cli_main
            from hyperliquid_assets.demo.archive import write_binance_day

            day = date(2026, 1, 1)
            lake = Lake(tmp_dir / "lake")
            zip_path = lake.raw_trades_path(SPOT, day)
            zip_path.parent.mkdir(parents=True, exist_ok=True)
            write_binance_day(zip_path, SPOT, day, args.trades, seed=1)
            zip_blob = zip_path.read_bytes()
            import hashlib

            lake.raw_trades_checksum_path(SPOT, day).write_text(
                f"{hashlib.sha256(zip_blob).hexdigest()}  {zip_path.name}\n")
            out = tmp_dir / "trades"
            out.mkdir()
            devnull = open(os.devnull, "w")

            def convert_in_process() -> None:
                saved, sys.stdout = sys.stdout, devnull
                try:
                    assert cli_main(["convert", "trades", str(zip_path), str(out / "cli.parquet")]) == 0
                finally:
                    sys.stdout = saved

            methods = {"floor": lambda: trades_floor(zip_blob, out / "floor.parquet"),
                       "ours": lambda: trades_ours(zip_blob, out / "ours.parquet"),
                       "ours + blocking checks": lambda: trades_ours_checked(zip_blob, out / "checked.parquet"),
                       "asset clean_trades_day": lambda: clean_trades_day(lake, "BTC", SPOT, day),
                       "convert trades (in process)": convert_in_process,
                       "pandas read_csv": lambda: trades_naive(zip_blob, out / "naive.parquet")}
            logging.getLogger("hl-assets").setLevel(logging.WARNING)  # convert's "sha256 matches" line, per round
            runs = round_robin(methods, max(5, args.repeat))
            day_ratios = report(f"3. Binance spot day -> clean Parquet: {args.trades:,} trades, {len(zip_blob) / 1e6:.1f}"
                                " MB zip (asset and convert also read the file and verify its CHECKSUM)", runs, "floor")
            ratios["trades"] = day_ratios["ours"]
            ratios["convert_vs_asset"] = statistics.median(
                c / a for c, a in zip(runs["convert trades (in process)"], runs["asset clean_trades_day"]))
            print(f"  convert trades / trades asset = {ratios['convert_vs_asset']:.2f}x; pandas is "
                  f"{day_ratios['pandas read_csv'] / day_ratios['ours']:.1f}x slower than ours")
            python, hl_assets = sys.executable, str(Path(sys.executable).parent / "hl-assets")
            times, peaks = processes_round_robin({
                "floor process": [python, "-c", TRADES_FLOOR_PROCESS, str(zip_path)],
                "hl-assets convert trades": [hl_assets, "convert", "trades", str(zip_path), str(out / "p.parquet")],
            }, max(3, args.repeat // 3))
            report("   whole process, one day", times, "floor process",
                   {name: f"peak RSS {peak:5.0f} MB" for name, peak in peaks.items()})

        if "backfill" in sections:
            mirror = tmp_dir / "mirror-backfill"
            write_mirror(mirror, blob, args.hours)
            settings = [tuple(int(x) for x in s.split("x")) for s in args.backfill_settings.split(",")]
            backfill = backfill_section(mirror, args.hours, settings, max(3, args.repeat // 3))  # type: ignore[arg-type]
            best = max((name for name in backfill if name.startswith("ours")), key=backfill.__getitem__)
            ratios["backfill"] = backfill[best]
            print(f"  best setting: {best.removeprefix('ours: ')}")

    load_after = os.getloadavg()
    print(f"\nload average after: {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}")
    print("\nSummary (ratios from this run):")
    lines = {
        "in_process": ("L2 hour in process, ours / floor", "<="),
        "process_floor": ("L2 whole process, hl-assets convert / floor process", "<="),
        "process_peer": ("L2 whole process, peer / hl-assets convert (faster by)", ">="),
        "trades": ("Binance day in process, ours / floor", "<="),
        "convert_vs_asset": ("convert trades / trades asset", "~"),
        "backfill": ("backfill hours/s, best setting / floor", ">="),
    }
    for key, (label, sense) in lines.items():
        if key not in ratios:
            continue
        target = TARGETS.get(key)
        verdict = "" if target is None else \
            ("meets" if (ratios[key] <= target if sense == "<=" else ratios[key] >= target) else "MISSES")
        print(f"  {label:58s} {ratios[key]:5.2f}x  {sense} {target if target else 1.0}  {verdict}")


if __name__ == "__main__":
    main()
