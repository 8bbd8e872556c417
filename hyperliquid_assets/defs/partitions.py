"""Partitions: hour x coin for the Hyperliquid archive, day x coin for Binance and everything daily downstream, and
the mappings between them. Multi -> multi mappings are not inferred (Dagster falls back to identity and the run
fails), so each one is declared, with the reason beside it; each declares exactly the partitions the code reads."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import dagster as dg

from hyperliquid_assets.settings import load_settings

SETTINGS = load_settings()
# Each coin's Binance listing: part of the code version of every asset whose data it changes.
LISTINGS_IDENTITY = ",".join(f"{c}:{SETTINGS.listing(c).listing_id}" for c in SETTINGS.coins)

# A backfill of months must be a few runs over partition windows (each run costs ~7 s before it does any work);
# HL_BACKFILL_POLICY=per_partition (one run per partition) is there to measure that, or for many-worker deployments.
BACKFILL_POLICY = (dg.BackfillPolicy.single_run() if SETTINGS.backfill_policy == "single_run"
                   else dg.BackfillPolicy.multi_run(max_partitions_per_run=1))

coin_partitions = dg.StaticPartitionsDefinition(list(SETTINGS.coins))
hour_partitions = dg.HourlyPartitionsDefinition(start_date=f"{SETTINGS.start_date:%Y-%m-%d}-00:00")
day_partitions = dg.DailyPartitionsDefinition(start_date=f"{SETTINGS.start_date:%Y-%m-%d}")

coin_hour_partitions = dg.MultiPartitionsDefinition({"coin": coin_partitions, "hour": hour_partitions})
coin_day_partitions = dg.MultiPartitionsDefinition({"coin": coin_partitions, "date": day_partitions})
# Day D's model trains on the HL_MODEL_WINDOW_DAYS days before D, so the model, prediction, champion and backtest
# days begin that many days after the lake's: a day without a full training window has no model partition (rather
# than one that can never be materialized and fails every backfill that covers it).
FIRST_MODEL_DAY = SETTINGS.start_date + timedelta(days=SETTINGS.model_window_days)
model_day_partitions = dg.DailyPartitionsDefinition(start_date=f"{FIRST_MODEL_DAY:%Y-%m-%d}")
coin_model_day_partitions = dg.MultiPartitionsDefinition({"coin": coin_partitions, "date": model_day_partitions})

_same_coin = dg.DimensionPartitionMapping("coin", dg.IdentityPartitionMapping())


def _days(start_offset: int = 0, end_offset: int = 0, dimension: str = "date") -> dg.MultiPartitionMapping:
    """Same coin; on the time dimension the days from `start_offset` to `end_offset` relative to the day (hourly
    upstream: every hour of those days, since Dagster counts offsets in downstream days)."""
    window = dg.TimeWindowPartitionMapping(
        start_offset=start_offset, end_offset=end_offset, allow_nonexistent_upstream_partitions=end_offset != 0
    )
    return dg.MultiPartitionMapping({dimension: dg.DimensionPartitionMapping("date", window), "coin": _same_coin})


# Each archive hour reads its day's inventory (is the hour published?).
day_of_hour = dg.MultiPartitionMapping(
    # (today's complete hours have no daily partition yet: those fetch without an inventory)
    {"date": dg.DimensionPartitionMapping(
        "hour", dg.TimeWindowPartitionMapping(allow_nonexistent_upstream_partitions=True)), "coin": _same_coin}
)
# A day's book features read its 24 clean hours and the previous day's 24: history for the lags and windows, the
# longest being the trailing day's realized volatility.
hours_of_day_and_day_before = _days(-1, 0, dimension="hour")
# The day's own 24 hours (backtests fill against the day's book).
hours_of_day = _days(0, 0, dimension="hour")
# Trade-flow features read the day before too (warm-up, and the VPIN bucket size fixed before the day starts); the
# joined features take the previous day's book and flow rows as history for the cross-venue lags.
day_and_day_before = _days(-1, 0)
same_day = _days(0, 0)


def model_days(window_days: int) -> dg.MultiPartitionMapping:
    """The `window_days` days before the day, which day D's model is trained on, and D itself, on which it is
    scored out of sample (the step reads both; the training rows never come from D)."""
    return _days(-window_days, 0)


def coin_and_hour(partition_key: str) -> tuple[str, datetime]:
    by_dim = coin_hour_partitions.get_partition_key_from_str(partition_key).keys_by_dimension
    return by_dim["coin"], datetime.strptime(by_dim["hour"], "%Y-%m-%d-%H:%M").replace(tzinfo=timezone.utc)


def coin_and_day(partition_key: str) -> tuple[str, date]:
    by_dim = coin_day_partitions.get_partition_key_from_str(partition_key).keys_by_dimension
    return by_dim["coin"], date.fromisoformat(by_dim["date"])


def day_key(coin: str, day: date) -> str:
    return dg.MultiPartitionKey({"coin": coin, "date": f"{day:%Y-%m-%d}"})
