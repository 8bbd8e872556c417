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

# Multi -> multi mappings are not inferred (Dagster falls back to identity and the run fails), so say it.
hours_of_day = dg.MultiPartitionMapping(
    {
        "hour": dg.DimensionPartitionMapping("date", dg.TimeWindowPartitionMapping()),
        "coin": dg.DimensionPartitionMapping("coin", dg.IdentityPartitionMapping()),
    }
)


def coin_and_hour(partition_key: str) -> tuple[str, datetime]:
    by_dim = coin_hour_partitions.get_partition_key_from_str(partition_key).keys_by_dimension
    return by_dim["coin"], datetime.strptime(by_dim["hour"], "%Y-%m-%d-%H:%M").replace(tzinfo=timezone.utc)


def coin_and_day(partition_key: str) -> tuple[str, date]:
    by_dim = coin_day_partitions.get_partition_key_from_str(partition_key).keys_by_dimension
    return by_dim["coin"], date.fromisoformat(by_dim["date"])
