"""What happened to each partition of a single-run window, and the events that make Dagster record exactly that.

A run covers a window of partitions (BackfillPolicy.single_run). Dagster records every partition of a window as
materialized when the step returns one result for it, so a window is reported as a whole only when every partition
of every selected asset was written. Otherwise each written partition gets its own materialization, each partition
whose input is not published yet gets an observation saying so (it stays unmaterialized, so "backfill missing" and
the sensors fetch it later), and the step fails if any partition failed, naming each one and what is wrong. The
backfill daemon then records exactly the failed partitions as failed and runs the downstream of the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Iterator, Mapping

import dagster as dg


@dataclass
class PartitionOutcome:
    """One partition's result across the assets of a step: per asset key the metadata of what was written, the
    reason an input is not available yet, or the failure."""

    partition_key: str
    written: dict[str, dict] = field(default_factory=dict)  # asset key -> metadata of the materialization
    unavailable: dict[str, str] = field(default_factory=dict)  # asset key -> why there is nothing to write yet
    failure: str | None = None  # what is wrong (the step fails naming this partition)
    retryable: bool = False  # the failure may pass on a retry (a source that kept failing), not bad data


@dataclass(frozen=True)
class WindowReport:
    """Window-level results the step adds: per asset key, run-level metadata and check results."""

    metadata: Mapping[str, Mapping[str, dg.RawMetadataValue]] = field(default_factory=dict)
    checks: Mapping[str, list[dg.AssetCheckResult]] = field(default_factory=dict)


def emit(
    context: dg.AssetExecutionContext,
    outcomes: Iterable[PartitionOutcome],
    asset_keys: Iterable[str],
    report: WindowReport = WindowReport(),
) -> Iterator[dg.MaterializeResult | dg.AssetMaterialization | dg.AssetObservation | dg.AssetCheckResult]:
    """The events for a window's outcomes (see the module docstring); raises dg.Failure after them if any failed."""
    outcomes = list(outcomes)
    keys = list(asset_keys)
    complete = all(o.failure is None and all(k in o.written for k in keys) for o in outcomes)
    if complete:
        for outcome in outcomes:
            for key in keys:
                context.add_asset_metadata(outcome.written[key], asset_key=key, partition_key=outcome.partition_key)
        for key in keys:
            yield dg.MaterializeResult(
                asset_key=key, metadata=dict(report.metadata.get(key, {})), check_results=list(report.checks.get(key, []))
            )
        return

    for outcome in outcomes:
        for key in keys:
            if key in outcome.written:
                yield dg.AssetMaterialization(asset_key=key, partition=outcome.partition_key,
                                              metadata=outcome.written[key])
            elif key in outcome.unavailable:
                yield dg.AssetObservation(
                    asset_key=key, partition=outcome.partition_key,
                    metadata={"status": "not_available", "reason": outcome.unavailable[key]},
                )
    for key in keys:
        yield from (dg.AssetCheckResult(asset_key=key, **_fields(check)) for check in report.checks.get(key, []))
    unavailable = sorted({o.partition_key for o in outcomes if o.unavailable and not o.failure})
    if unavailable:
        context.log.warning("left unmaterialized, input not available yet: %s", ", ".join(unavailable))
    failed = [o for o in outcomes if o.failure]
    if failed:
        lines = [f"{o.partition_key}: {o.failure}" for o in failed]
        raise dg.Failure(
            description=f"{len(failed)} of {len(outcomes)} partitions failed:\n" + "\n".join(lines),
            metadata={"failed_partitions": dg.MetadataValue.md("\n".join(f"- {line}" for line in lines))},
            # Bad data fails the same way every time; only a source that kept failing is worth a retry.
            allow_retries=any(o.retryable for o in failed),
        )


def _fields(check: dg.AssetCheckResult) -> dict:
    return dict(check_name=check.check_name, passed=check.passed, metadata=check.metadata, severity=check.severity,
                description=check.description)
