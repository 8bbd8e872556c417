"""Partitions: hour x coin for the Hyperliquid archive, day x coin for Binance and everything daily downstream."""

from __future__ import annotations

from datetime import date, datetime, timezone

import dagster as dg

from hyperliquid_assets.settings import load_settings

SETTINGS = load_settings()

coin_partitions = dg.StaticPartitionsDefinition(list(SETTINGS.coins))
hour_partitions = dg.HourlyPartitionsDefinition(start_date=f"{SETTINGS.start_date:%Y-%m-%d}-00:00")
day_partitions = dg.DailyPartitionsDefinition(start_date=f"{SETTINGS.start_date:%Y-%m-%d}")

coin_hour_partitions = dg.MultiPartitionsDefinition({"coin": coin_partitions, "hour": hour_partitions})
coin_day_partitions = dg.MultiPartitionsDefinition({"coin": coin_partitions, "date": day_partitions})

_same_coin = dg.DimensionPartitionMapping("coin", dg.IdentityPartitionMapping())

# Multi -> multi mappings are not inferred (Dagster falls back to identity and the run fails), so say it.
# A day's book features read its 24 hours and, as warm-up, the previous day's (offsets count downstream days).
hours_of_day_and_day_before = dg.MultiPartitionMapping(
    {"hour": dg.DimensionPartitionMapping("date", dg.TimeWindowPartitionMapping(start_offset=-1)), "coin": _same_coin}
)
# Trade-flow features read the day before too: warm-up, and the VPIN bucket size fixed before the day starts.
day_and_day_before = dg.MultiPartitionMapping(
    {"date": dg.DimensionPartitionMapping("date", dg.TimeWindowPartitionMapping(start_offset=-1)), "coin": _same_coin}
)
# Labels are the one table that looks forward: a day's last bars need the next day's first bars.
day_and_day_after = dg.MultiPartitionMapping(
    {
        "date": dg.DimensionPartitionMapping(
            "date", dg.TimeWindowPartitionMapping(end_offset=1, allow_nonexistent_upstream_partitions=True)
        ),
        "coin": _same_coin,
    }
)


def coin_and_hour(partition_key: str) -> tuple[str, datetime]:
    by_dim = coin_hour_partitions.get_partition_key_from_str(partition_key).keys_by_dimension
    return by_dim["coin"], datetime.strptime(by_dim["hour"], "%Y-%m-%d-%H:%M").replace(tzinfo=timezone.utc)


def coin_and_day(partition_key: str) -> tuple[str, date]:
    by_dim = coin_day_partitions.get_partition_key_from_str(partition_key).keys_by_dimension
    return by_dim["coin"], date.fromisoformat(by_dim["date"])
