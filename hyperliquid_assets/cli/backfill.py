"""`hl-assets backfill`: every asset of the graph over a window of days and coins, as Dagster backfills (one per
coin) run by the daemon (what the UI's "Materialize all" launches), reported run by run."""

from __future__ import annotations

import argparse
import os
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from hyperliquid_assets.settings import PROJECT_ROOT, load_settings


def register(commands: argparse._SubParsersAction) -> None:
    backfill = commands.add_parser(
        "backfill",
        help="materialize every asset over a window of days as Dagster backfills (one per coin), run by the daemon")
    backfill.add_argument("--start", help="first day (default: DAYS days before today, so the window ends yesterday)")
    backfill.add_argument("--days", type=int, default=4, help="days in the window (default 4)")
    backfill.add_argument("--coins", help="comma-separated (default HL_COINS)")
    backfill.add_argument("--url", default=os.environ.get("HL_DAGSTER_URL", "http://127.0.0.1:3000"),
                          help="a Dagster webserver of this instance to use if one answers there (default "
                               "HL_DAGSTER_URL or :3000, e.g. scripts/ui, whose sensors then run alongside); "
                               "else one is started, with the sensors stopped")
    backfill.set_defaults(run=run)


def window(start: str | None, days: int, today: date | None = None) -> tuple[date, date]:
    """(first, last) day of the window; by default the `days` complete days ending yesterday (UTC)."""
    if days <= 0:
        raise SystemExit(f"--days must be positive, not {days}")
    today = today or datetime.now(timezone.utc).date()
    first = date.fromisoformat(start) if start else today - timedelta(days=days)
    last = first + timedelta(days=days - 1)
    if last >= today:
        raise SystemExit(f"the window {first} .. {last} reaches today ({today} UTC): only complete days have partitions")
    return first, last


def settings_lake(settings):
    """The lake as the assets see it: the settings' root, research bar and Binance listings."""
    from hyperliquid_assets.lake import Lake

    return Lake(settings.lake_root, bar=settings.feature_bar, listings=settings.listings)


def first_model_day(settings, coin: str, first: date) -> date:
    """The first day of a window starting at `first` that can have a model: one whose training days are in the
    window or already in the lake (features and labels of each of the days before `first` it needs)."""
    lake = settings_lake(settings)
    day = first
    while day < first + timedelta(days=settings.model_window_days):
        before = [day - timedelta(days=n) for n in range(1, settings.model_window_days + 1)]
        if all(d >= first or (lake.feature_path("features", coin, d).exists() and lake.labels_path(coin, d).exists())
               for d in before):
            return day
        day += timedelta(days=1)
    return day


def run(args: argparse.Namespace) -> int:
    settings = load_settings()
    first, last = window(args.start, args.days)
    coins = args.coins.split(",") if args.coins else list(settings.coins)
    unknown = sorted(set(coins) - set(settings.coins))
    if unknown:
        raise SystemExit(f"--coins {unknown} are not among HL_COINS {list(settings.coins)}")
    if first < settings.start_date:
        raise SystemExit(f"--start {first} is before the first partition HL_START_DATE={settings.start_date}")
    os.environ.setdefault("DAGSTER_HOME", str(PROJECT_ROOT))

    from hyperliquid_assets.defs.backfills import DagsterServer, FinishedRun, follow, window_selection
    from hyperliquid_assets.definitions import defs

    graph = defs.resolve_asset_graph()
    log_path = Path(os.environ["DAGSTER_HOME"]) / "logs" / "dagster-dev.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    # A `dagster dev` started for the backfill runs with the sensors stopped unless HL_AUTOMATION says otherwise:
    # they would find the same new days in the mirror and launch their own runs of what the backfill is building.
    env = {**os.environ, "HL_AUTOMATION": os.environ.get("HL_AUTOMATION", "off")}
    with DagsterServer(args.url, PROJECT_ROOT / "workspace.yaml", log_path, env=env, cwd=PROJECT_ROOT) as server:
        print(f"Dagster at {server.url} ({'started for this backfill' if server.process else 'already running'})")
        # One backfill per coin: each coin's chain then shares runs whatever pace the other coin keeps (see
        # defs/backfills.py). Each also refreshes the unpartitioned assets once its coin is in, so the last to
        # finish leaves them current for every coin.
        backfill_ids = []
        for coin in coins:
            model_from = first_model_day(settings, coin, first)
            if model_from > first:
                print(f"{coin}: models from {model_from} (day D's model trains on the {settings.model_window_days} "
                      f"days before D; the lake has no features of {coin} before {first} to train on)")
            selection = window_selection(graph, [coin], first, last, first_model_day=model_from)
            backfill_ids.append(server.launch_backfill(
                selection, title=f"hl-assets backfill {coin} {first}..{last}",
                tags={"hyperliquid_assets/launched_by": "hl-assets backfill"},
            ))
            print(f"backfill {backfill_ids[-1]}: {len(selection)} assets x {coin} x {first} .. {last}; "
                  f"{server.url}/runs/b/{backfill_ids[-1]}", flush=True)

        def report(finished: FinishedRun) -> None:
            window_text = (f"{finished.first_partition} .. {finished.last_partition}" if finished.first_partition
                           else "(unpartitioned)")
            print(f"{time.monotonic() - started:6.0f} s  {finished.status:7s} {window_text:44s} "
                  f"{', '.join(finished.assets)}  ({finished.seconds:.1f} s, run {finished.run_id[:8]})", flush=True)

        states = follow(server, backfill_ids, report)
    outcome = ", ".join(f"{backfill_id}: {state['status']}" for backfill_id, state in states.items())
    print(f"\n{outcome} in {time.monotonic() - started:.0f} s")
    _print_window_summary(list(states.values()), settings_lake(settings), coins, first, last)
    return 0 if all(s_["status"] in ("COMPLETED", "COMPLETED_SUCCESS") for s_ in states.values()) else 1


def _print_window_summary(states: list[dict], lake, coins: list[str], first: date, last: date) -> None:
    """Per asset, partitions materialized of those the backfill targeted; then what the window put in the lake."""
    totals: dict[str, list] = {}
    for state in states:
        for status in state["assetBackfillData"]["assetBackfillStatuses"]:
            name = "/".join(status["assetKey"]["path"])
            if "numPartitionsTargeted" in status:
                counts = totals.setdefault(name, [0, 0, 0])
                for i, field in enumerate(("numPartitionsMaterialized", "numPartitionsTargeted", "numPartitionsFailed")):
                    counts[i] += status[field]
            else:
                totals[name] = ["yes" if status["materialized"] else "no", "", "yes" if status["failed"] else ""]
    print(f"{'asset':24s} {'materialized':>14s} {'failed':>7s}")
    for name, (done, targeted, failed) in totals.items():
        if targeted == "":
            print(f"{name:24s} {done:>14s} {failed:>7s}")
        else:
            print(f"{name:24s} {done:>6d} of {targeted:<5d} {failed:>7d}")
    import polars as pl

    from hyperliquid_assets.warehouse import LAKE_TABLES

    days = {f"date={first + timedelta(days=n):%Y-%m-%d}" for n in range((last - first).days + 1)}
    # Each coin's files of its configured listing only, as the warehouse views read them.
    variants = {(f"coin={c}", f"listing={lake.listing_id(c)}") for c in coins}
    print(f"\nthe window's tables in {lake.root}:")
    for table, pattern in LAKE_TABLES.items():
        files = [p for p in sorted(lake.root.glob(pattern.format(bar=lake.bar)))
                 if days & set(p.parts) and any(coin in p.parts and ("listing=" not in str(p) or listing in p.parts)
                                                for coin, listing in variants)]
        if files:
            rows = pl.scan_parquet(files).select(pl.len()).collect().item()
            size = sum(f.stat().st_size for f in files)
            print(f"  {table:20s} {len(files):4d} files {rows:>12,} rows {size / 1e6:8.1f} MB")
    _print_model_results(lake, coins, sorted(days))
    if lake.warehouse_path.exists():
        print(f'SQL over the lake: hl-assets sql "SELECT coin, date, count(*) FROM features GROUP BY ALL ORDER BY ALL"')


def _print_model_results(lake, coins: list[str], days: list[str]) -> None:
    """Per spec and coin: the window's models (mean out-of-sample AUC against the class prior's) and the summed
    net PnL of the backtests, model against baselines, with costs (from the files the assets wrote)."""
    import json

    import polars as pl

    from hyperliquid_assets.backtesting.partition import DAILY_ROWS
    from hyperliquid_assets.modeling.specs import DEFAULT_SPECS

    lines = []
    for spec in DEFAULT_SPECS:
        for coin in coins:
            models, backtests = lake.spec_dir("models", spec, coin), lake.spec_dir("backtests", spec, coin)
            records = [json.loads(p.read_bytes()) for d in days for p in models.glob(f"{d}/model.json")]
            daily = [p for d in days for p in backtests.glob(f"{d}/{DAILY_ROWS}")]
            if not records:
                continue
            auc = sum(r["metrics"].get("oos_roc_auc", float("nan")) for r in records) / len(records)
            prior = sum(r["metrics"].get("oos_prior_roc_auc", float("nan")) for r in records) / len(records)
            line = f"  {spec:8s} {coin:5s} {len(records)} models, OOS AUC {auc:.3f} (prior {prior:.3f})"
            if daily:
                pnl = (pl.read_parquet(daily).group_by("strategy").agg(pl.col("net_pnl").sum())
                       .sort("strategy").rows())
                line += f"; {len(daily)} backtest days, net PnL " + ", ".join(f"{s} {v:+.2f}" for s, v in pnl)
            lines.append(line)
    if lines:
        print("\nmodels (MLflow: scripts/mlflow-ui) and backtests (reports under backtests/ and reports/):")
        print("\n".join(lines))
