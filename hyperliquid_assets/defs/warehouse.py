"""The DuckDB warehouse: views over the lake's tables, refreshed whenever a table gains partitions."""


import dagster as dg

from hyperliquid_assets.defs.automation import follows_any_input
from hyperliquid_assets.defs.backtests.assets import backtest_key
from hyperliquid_assets.defs.models.assets import SPECS, predictions_key
from hyperliquid_assets.defs.partitions import SETTINGS
from hyperliquid_assets.defs.resources import LakeResource
from hyperliquid_assets.warehouse import LAKE_TABLES, refresh_warehouse

WAREHOUSE_INPUTS = ["l2_book", "binance_trades", "book_features", "trade_flow_features", "features", "labels",
                    *(predictions_key(s) for s in SPECS), *(backtest_key(s) for s in SPECS)]


@dg.asset(
    group_name="warehouse",
    kinds={"duckdb"},
    deps=WAREHOUSE_INPUTS,
    automation_condition=follows_any_input(),
    code_version=f"1|bar={SETTINGS.feature_bar}",
)
def lake_warehouse(context: dg.AssetExecutionContext, lake: LakeResource) -> dg.MaterializeResult:
    """`data/warehouse.duckdb`: a view per lake table (l2_book, trades, book_features, trade_flow_features,
    features, labels, predictions_<spec>, backtest_daily_<spec>) over its Parquet files, hive-partitioned by coin and date, e.g.
    `SELECT ... FROM features WHERE coin = 'BTC' AND date BETWEEN '2026-01-01' AND '2026-01-02'` from the duckdb
    CLI, Python, or `hl-assets sql "..."`. Each view reads only the configured variant of its table (the research
    bar, and each coin's Binance listing), so variants never mix. Views read files at query time; the database is
    rebuilt by temp file and rename."""
    store = lake.lake()
    counts = refresh_warehouse(store, list(SETTINGS.coins))
    context.log.info("views: %s", ", ".join(f"{name} ({rows:,} rows)" for name, rows in counts.items()))
    return dg.MaterializeResult(
        metadata={"path": str(store.warehouse_path), "bar": store.bar, "views": ", ".join(counts),
                  **{f"rows_{name}": n for name, n in counts.items()},
                  "tables_without_files": ", ".join(sorted(set(LAKE_TABLES) - set(counts)))}
    )
