"""Declarative automation: everything downstream of the raw objects follows its inputs, never a clock.

The sensors (ingest/sensors.py) fetch what the upstreams newly publish; every derived asset then runs when one of
its input partitions is updated, within a lookback window (the Hyperliquid archive is uploaded about once a month,
so the latest day alone would miss most of what lands), once each input asset has something to read and nothing
upstream is still running. One automation sensor evaluates them all and emits backfills, so a month of newly
arrived days runs as a few single-run windows, not one run per partition.
"""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

from hyperliquid_assets.defs.partitions import SETTINGS


def follows_inputs(lookback_days: int) -> dg.AutomationCondition:
    """Run a partition within the last `lookback_days` when an input partition was updated since it last ran, each
    input asset has at least one materialized partition (a day with an archive gap is still built, with its
    coverage recorded), and neither it nor an input is in progress."""
    return (
        dg.AutomationCondition.in_latest_time_window(timedelta(days=lookback_days))
        & dg.AutomationCondition.any_deps_updated().since_last_handled()
        & dg.AutomationCondition.all_deps_match(
            ~dg.AutomationCondition.missing() | dg.AutomationCondition.will_be_requested()
        ).with_label("each input has data")
        & ~dg.AutomationCondition.any_deps_in_progress()
        & ~dg.AutomationCondition.in_progress()
    ).with_label(f"follows its inputs (last {lookback_days} days)")


def fetches_when_published(lookback_days: int) -> dg.AutomationCondition:
    """For the raw and clean assets: run a partition that is still missing, within the last `lookback_days`, when
    its day's inventory (what the upstream has published) was updated since it last ran."""
    return (
        dg.AutomationCondition.in_latest_time_window(timedelta(days=lookback_days))
        & dg.AutomationCondition.missing()
        & dg.AutomationCondition.any_deps_updated().since_last_handled()
        & ~dg.AutomationCondition.any_deps_in_progress()
        & ~dg.AutomationCondition.in_progress()
    ).with_label(f"fetches what is newly published (last {lookback_days} days)")


def follows_any_input() -> dg.AutomationCondition:
    """For an unpartitioned asset over partitioned inputs (the warehouse): run when any input partition updates and
    nothing upstream is in progress. (eager() would wait for every partition of history to exist.)"""
    return (
        dg.AutomationCondition.any_deps_updated().since_last_handled()
        & ~dg.AutomationCondition.any_deps_in_progress()
        & ~dg.AutomationCondition.in_progress()
    ).with_label("follows any input")


asset_automation_sensor = dg.AutomationConditionSensorDefinition(
    "asset_automation",
    target=dg.AssetSelection.all(),
    default_status=dg.DefaultSensorStatus.RUNNING if SETTINGS.automation else dg.DefaultSensorStatus.STOPPED,
    minimum_interval_seconds=30,
    description="Evaluates every asset's automation condition: raw assets fetch what the inventory newly lists, derived tables follow their inputs.",
)
