"""`hl-assets convert l2|trades IN OUT`: one upstream file -> clean Parquet, on the same code as the assets.

The same parser, the same blocking quality checks (quality.py; the hour or day they cover is read from the data)
and the same Parquet settings as the assets. Exit status: 0 written; 1 the input is corrupt or fails a check
(nothing written); 2 the command was refused (the output is the input or not a regular file, or the listing cannot
be told from the name). Only polars and the parsers are imported: no Dagster, MLflow, scikit-learn or pandas.
"""

from __future__ import annotations

import argparse
import logging
import re
import stat
import sys
import time
from pathlib import Path
from hyperliquid_assets.settings import BinanceListing

log = logging.getLogger("hl-assets")
_ZIP_NAME = re.compile(r"^(?P<symbol>[A-Z0-9_]+)-(?P<kind>trades|aggTrades)-\d{4}-\d{2}-\d{2}\.zip$")


class Refused(Exception):
    """The command line asks for something that would lose data or cannot be done; nothing was written."""


class InputRejected(Exception):
    """The input is corrupt or fails a blocking quality check; nothing was written."""


def register(commands: argparse._SubParsersAction) -> None:
    convert = commands.add_parser("convert", help="convert one upstream file to clean Parquet")
    convert.add_argument("table", choices=["l2", "trades"])
    convert.add_argument("input")
    convert.add_argument("output", help="a new path or an existing regular file other than the input (replaced)")
    convert.add_argument("--coin", help="l2: expected coin (checked against the file)")
    convert.add_argument("--symbol", help="trades: Binance symbol (default: from the file name)")
    convert.add_argument("--market", choices=["spot", "usdm", "coinm"], help="trades: default from the path")
    convert.add_argument("--kind", choices=["trades", "aggTrades"], help="trades: default from the file name")
    convert.add_argument("--contract-size", type=float, help="trades, COIN-M: USD per contract")
    convert.add_argument(
        "--no-checks", action="store_true",
        help="skip the blocking quality checks the assets run (times in order, no crossed book, positive prices, "
             "sizes and counts) and write whatever parses",
    )
    convert.set_defaults(run=run)


def check_output_path(source: Path, out: Path) -> None:
    """Refuse an output that is the input (by inode, through symlinks and hard links) or that exists and is not a
    regular file (a directory, a device such as /dev/full, a fifo, a socket): the atomic rename would replace it."""
    try:
        out_stat = out.stat()
    except FileNotFoundError:
        return  # a new path (or a dangling symlink, which the rename replaces)
    except OSError as exc:
        raise Refused(f"{out}: cannot check the output path ({exc.strerror})") from None
    if not stat.S_ISREG(out_stat.st_mode):
        raise Refused(f"{out}: refusing to write: it exists and is not a regular file ({_file_kind(out_stat.st_mode)})")
    source_stat = source.stat()
    if (out_stat.st_dev, out_stat.st_ino) == (source_stat.st_dev, source_stat.st_ino):
        raise Refused(f"{out}: refusing to write: it is the input file {source}; choose another output path")


def _file_kind(mode: int) -> str:
    kinds = [(stat.S_ISDIR, "a directory"), (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
             (stat.S_ISFIFO, "a fifo"), (stat.S_ISSOCK, "a socket")]
    return next((name for test, name in kinds if test(mode)), "not a regular file")


def _listing_for(path: Path, args: argparse.Namespace) -> BinanceListing:
    """Symbol and kind from the file name, market from the upstream path, each overridable by a flag."""
    match = _ZIP_NAME.match(path.name)
    parts = path.resolve().parts
    market = "coinm" if "cm" in parts else "usdm" if "um" in parts else "spot"
    symbol = args.symbol or (match and match["symbol"])
    kind = args.kind or (match and match["kind"])
    if not symbol or not kind:
        raise Refused(f"{path}: cannot tell symbol/kind from the name; pass --symbol and --kind")
    market = args.market or market
    contract_size = args.contract_size or (None if market != "coinm" else 100.0 if symbol.startswith("BTC") else 10.0)
    return BinanceListing(symbol, market, kind, contract_size)


def run(args: argparse.Namespace) -> int:
    source, out = Path(args.input), Path(args.output)
    try:
        return _convert(args, source, out)
    except Refused as exc:
        print(f"hl-assets convert: {exc}", file=sys.stderr)
        return 2
    except InputRejected as exc:
        print(f"hl-assets convert: {exc} (nothing written)", file=sys.stderr)
        return 1


def _convert(args: argparse.Namespace, source: Path, out: Path) -> int:
    from datetime import datetime, timezone

    from hyperliquid_assets.formats.errors import CorruptObjectError
    from hyperliquid_assets.lake import write_parquet_atomic

    started = time.perf_counter()
    if not source.is_file():
        raise Refused(f"{source}: no such file" if not source.exists() else f"{source}: not a regular file")
    check_output_path(source, out)
    try:
        blob = source.read_bytes()
    except OSError as exc:
        raise Refused(f"{source}: cannot read ({exc.strerror})") from None
    try:
        if args.table == "l2":
            from hyperliquid_assets.formats.hyperliquid_l2 import parse_l2_book
            from hyperliquid_assets.quality import l2_book_quality

            frame = parse_l2_book(blob, str(source), args.coin)
            first = frame["received_time"][0]
            window = first.replace(minute=0, second=0, microsecond=0)
            quality = None if args.no_checks else l2_book_quality(frame, window)
            level = None  # the assets' level for the book
        else:
            from hyperliquid_assets.formats.binance_trades import parse_trades_zip, verify_checksum
            from hyperliquid_assets.quality import trades_quality

            listing = _listing_for(source, args)
            checksum = source.with_name(source.name + ".CHECKSUM")
            if checksum.exists():
                verify_checksum(blob, checksum.read_bytes(), str(source))
                log.info("sha256 matches %s", checksum.name)
            frame = parse_trades_zip(blob, listing, str(source))
            first = frame["time"][0]
            window = datetime(first.year, first.month, first.day, tzinfo=timezone.utc)
            quality = None if args.no_checks else trades_quality(frame, window)
            level = 1  # as the trades asset: ~1.5x faster than the default level for a ~7% larger file
    except CorruptObjectError as exc:
        raise InputRejected(str(exc)) from None
    failed = quality.problems() if quality else []  # the assets' blocking checks, in their words
    if failed:
        raise InputRejected(f"{source}: fails the blocking quality checks: {'; '.join(failed)}; "
                            "--no-checks writes it anyway")
    try:
        size = write_parquet_atomic(frame, out, {"hyperliquid_assets.source": str(source)}, compression_level=level)
    except OSError as exc:
        raise InputRejected(f"{out}: cannot write ({exc})") from None
    span = "hour" if args.table == "l2" else "day"
    checks = (f"checks passed, {quality.coverage:.0%} of the {span} from {window:%Y-%m-%d %H:%M} UTC covered"
              if quality else "checks skipped (--no-checks)")
    print(f"{out}: {frame.height:,} rows, {size:,} bytes ({len(blob):,} in) in {time.perf_counter() - started:.2f} s;"
          f" {checks}")
    return 0

