"""`hl-assets demo`: write the synthetic demo archive into the local mirror, in the exact upstream formats."""

from __future__ import annotations

import argparse
import time

from hyperliquid_assets.settings import load_settings


def register(commands: argparse._SubParsersAction) -> None:
    demo = commands.add_parser("demo", help="write the synthetic demo archive into the local mirror")
    demo.add_argument("--start", help="first day (default: DAYS days before today, so the demo ends yesterday)")
    demo.add_argument("--days", type=int, default=4)
    demo.add_argument("--coins", help="comma-separated (default HL_COINS)")
    demo.add_argument("--signal-strength", type=float, default=0.5, help="planted imbalance signal; 0 = none")
    demo.add_argument("--seed", type=int, default=7)
    demo.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from hyperliquid_assets.demo.archive import write_demo_archive
    from hyperliquid_assets.demo.market import DemoMarketParams

    from hyperliquid_assets.cli.backfill import window

    settings = load_settings()
    first, _ = window(args.start, args.days)
    coins = args.coins.split(",") if args.coins else list(settings.coins)
    started = time.perf_counter()
    summary = write_demo_archive(
        settings.mirror_root,
        coins,
        first,
        args.days,
        settings.listings,
        DemoMarketParams(signal_strength=args.signal_strength),
        seed=args.seed,
    )
    print(f"demo archive in {settings.mirror_root}: {summary} ({time.perf_counter() - started:.1f} s)")
    return 0
