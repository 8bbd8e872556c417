"""`hl-assets convert l2|trades IN OUT`: one upstream file -> clean Parquet, on the same code as the assets."""

from __future__ import annotations

import argparse
import logging
import re
import time
from pathlib import Path

from hyperliquid_assets.settings import BinanceListing

log = logging.getLogger("hl-assets")
_ZIP_NAME = re.compile(r"^(?P<symbol>[A-Z0-9_]+)-(?P<kind>trades|aggTrades)-\d{4}-\d{2}-\d{2}\.zip$")


def register(commands: argparse._SubParsersAction) -> None:
    convert = commands.add_parser("convert", help="convert one upstream file to clean Parquet")
    convert.add_argument("table", choices=["l2", "trades"])
    convert.add_argument("input")
    convert.add_argument("output")
    convert.add_argument("--coin", help="l2: expected coin (checked against the file)")
    convert.add_argument("--symbol", help="trades: Binance symbol (default: from the file name)")
    convert.add_argument("--market", choices=["spot", "usdm", "coinm"], help="trades: default from the path")
    convert.add_argument("--kind", choices=["trades", "aggTrades"], help="trades: default from the file name")
    convert.add_argument("--contract-size", type=float, help="trades, COIN-M: USD per contract")
    convert.set_defaults(run=run)


def _listing_for(path: Path, args: argparse.Namespace) -> BinanceListing:
    """Symbol and kind from the file name, market from the upstream path, each overridable by a flag."""
    match = _ZIP_NAME.match(path.name)
    parts = path.resolve().parts
    market = "coinm" if "cm" in parts else "usdm" if "um" in parts else "spot"
    symbol = args.symbol or (match and match["symbol"])
    kind = args.kind or (match and match["kind"])
    if not symbol or not kind:
        raise SystemExit(f"{path}: cannot tell symbol/kind from the name; pass --symbol and --kind")
    market = args.market or market
    contract_size = args.contract_size or (None if market != "coinm" else 100.0 if symbol.startswith("BTC") else 10.0)
    return BinanceListing(symbol, market, kind, contract_size)


def run(args: argparse.Namespace) -> int:
    from hyperliquid_assets.formats.binance_trades import parse_trades_zip, verify_checksum
    from hyperliquid_assets.formats.hyperliquid_l2 import parse_l2_book
    from hyperliquid_assets.lake import write_parquet_atomic

    source, out = Path(args.input), Path(args.output)
    started = time.perf_counter()
    blob = source.read_bytes()
    if args.table == "l2":
        frame = parse_l2_book(blob, str(source), args.coin)
    else:
        checksum = source.with_name(source.name + ".CHECKSUM")
        if checksum.exists():
            verify_checksum(blob, checksum.read_bytes(), str(source))
            log.info("sha256 matches %s", checksum.name)
        frame = parse_trades_zip(blob, _listing_for(source, args), str(source))
    size = write_parquet_atomic(frame, out, {"hyperliquid_assets.source": str(source)})
    print(f"{out}: {frame.height:,} rows, {size:,} bytes ({len(blob):,} in) in {time.perf_counter() - started:.2f} s")
    return 0
