"""Running one step per partition of a single-run window, with failures reported together and named."""

from typing import Callable, TypeVar

import dagster as dg

T = TypeVar("T")


def for_each_partition(
    context: dg.AssetExecutionContext,
    step: Callable[[str], T],
    expected_errors: tuple[type[BaseException], ...] = (Exception,),
) -> dict[str, T]:
    """Run `step` on every partition key of the window. Failures are collected and raised together at the end,
    each with its partition, after the good partitions are written, so one bad object does not cost the rest of
    a backfill (a rerun skips what is stored)."""
    outcomes: dict[str, T] = {}
    failures: list[str] = []
    for partition_key in context.partition_keys:
        try:
            outcomes[partition_key] = step(partition_key)
        except expected_errors as exc:
            failures.append(f"{partition_key}: {type(exc).__name__}: {exc}")
            context.log.error("partition %s failed: %s", partition_key, exc)
    if failures:
        raise dg.Failure(
            description=f"{len(failures)} of {len(context.partition_keys)} partitions failed:\n" + "\n".join(failures),
            metadata={"failed_partitions": dg.MetadataValue.md("\n".join(f"- {f}" for f in failures))},
        )
    return outcomes
