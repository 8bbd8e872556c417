"""Where an input partition came from, as later stages record it (MLflow tags, report provenance)."""

import dagster as dg


def data_version(instance: dg.DagsterInstance, asset: str, partition: str, fallback: str | None = None) -> str:
    """The Dagster data version of the partition's latest materialization; when Dagster recorded none (a partition
    written on its own in a partial window), `fallback` (e.g. the file's content digest) or the run that wrote it."""
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=dg.AssetKey(asset), asset_partitions=[partition]), limit=1, ascending=False
    ).records
    if not records:
        return fallback or "not materialized"
    materialization = records[0].asset_materialization
    version = materialization.tags.get("dagster/data_version") if materialization and materialization.tags else None
    return version or fallback or f"materialized in run {records[0].run_id}"
