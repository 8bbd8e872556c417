"""`hl-assets demo`: write the synthetic demo archive into the local mirror, in the exact upstream formats; with
`--compare REAL.lz4 [REAL.zip]`, then print its calibration statistics side by side with real files'."""

from __future__ import annotations

import argparse
import time
from datetime import date
from pathlib import Path

from hyperliquid_assets.settings import load_settings


def register(commands: argparse._SubParsersAction) -> None:
    demo = commands.add_parser("demo", help="write the synthetic demo archive into the local mirror")
    demo.add_argument("--start", help="first day (default: DAYS days before today, so the demo ends yesterday)")
    demo.add_argument("--days", type=int, default=4)
    demo.add_argument("--coins", help="comma-separated (default HL_COINS)")
    demo.add_argument("--signal-strength", type=float, default=0.5,
                      help="planted signal; 0 = none (see demo/market.py)")
    demo.add_argument("--cross-venue-lead", type=float, default=0.0, metavar="SECONDS",
                      help="Binance sees the Hyperliquid mid this many seconds early; 0 = no lead")
    demo.add_argument("--seed", type=int, default=7)
    demo.add_argument("--compare", nargs="+", metavar="REAL", help="REAL.lz4 [REAL.zip]: print the calibration "
                      "statistics of the written archive's first day beside those of these real files")
    demo.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from hyperliquid_assets.cli.backfill import window
    from hyperliquid_assets.demo.archive import write_demo_archive
    from hyperliquid_assets.demo.market import DemoMarketParams

    settings = load_settings()
    start, _ = window(args.start, args.days)
    coins = args.coins.split(",") if args.coins else list(settings.coins)
    real = _real_files(args.compare, coins) if args.compare else None
    started = time.perf_counter()
    params = DemoMarketParams(signal_strength=args.signal_strength, cross_venue_lead_s=args.cross_venue_lead)
    summary = write_demo_archive(settings.mirror_root, coins, start, args.days, settings.listings, params,
                                 seed=args.seed)
    print(f"demo archive in {settings.mirror_root}: {summary} ({time.perf_counter() - started:.1f} s)")
    if real is None:
        return 0
    return _compare(settings, start, *real)


def _real_files(paths: list[str], coins: list[str]) -> tuple[Path, Path | None, str]:
    """(REAL.lz4, REAL.zip or None, the coin to compare: the .lz4's name, as in the archive key)."""
    if len(paths) > 2:
        raise SystemExit("--compare takes REAL.lz4 and optionally REAL.zip")
    l2 = Path(paths[0])
    trades = Path(paths[1]) if len(paths) > 1 else None
    for path, suffix in ((l2, ".lz4"), (trades, ".zip")):
        if path is not None and (path.suffix != suffix or not path.is_file()):
            raise SystemExit(f"--compare: {path} is not an existing {suffix} file")
    coin = l2.stem
    if coin not in coins:
        raise SystemExit(f"--compare: {l2} is a {coin} book, but the demo coins are {','.join(coins)}")
    return l2, trades, coin


def _compare(settings, day: date, l2: Path, trades: Path | None, coin: str) -> int:
    from hyperliquid_assets.cli.convert import _listing_for
    from hyperliquid_assets.demo import calibration

    real = calibration.book_statistics(calibration.real_book(l2))
    demo = calibration.book_statistics(calibration.archive_book(settings.mirror_root, coin, day))
    sources = [f"real book: {l2}", f"demo book: {coin} {day} (24 hours)"]
    if trades is not None:
        no_overrides = argparse.Namespace(symbol=None, kind=None, market=None, contract_size=None)
        listing = _listing_for(trades, no_overrides)
        real.update(calibration.trade_statistics(calibration.real_trades(trades, listing)))
        demo_listing = settings.listing(coin)
        demo.update(calibration.trade_statistics(calibration.archive_trades(settings.mirror_root, demo_listing, day)))
        sources += [f"real trades: {trades} ({listing.market} {listing.kind})",
                    f"demo trades: {demo_listing.symbol} {day} ({demo_listing.market} {demo_listing.kind}, "
                    "aggregated as aggTrades)"]
    rows = calibration.compare(real, demo)
    print("\n".join(sources))
    print(calibration.format_table(rows))
    failed = [row.statistic.label for row in rows if not row.ok]
    print(f"{len(rows) - len(failed)} of {len(rows)} statistics within tolerance"
          + (f"; outside: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0
