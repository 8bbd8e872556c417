"""Lineage of a model run: the tags tying it to Dagster and the code, and its inputs as MLflow datasets.

Tags (all strings): dagster.run_id, dagster.asset_key, dagster.partition_key, code.version (`<sha>[-dirty]`),
code.git_sha, code.git_dirty, and dagster.input_data_versions, a JSON object {"<asset>/<partition key>": data
version} of the Dagster data versions of every input partition. Each input file is also a run input (a
MetaDataset: source = the file's path, digest = the first 32 hex digits of its sha256, plus input tags with the
full sha256, rows, bytes, table, coin, day and, when given, its Dagster data version).
"""

from __future__ import annotations

import json
import warnings
from typing import Mapping, Sequence

from hyperliquid_assets.modeling.inputs import InputPartition
from hyperliquid_assets.tracking.code_version import CodeVersion

DAGSTER_RUN_ID = "dagster.run_id"
DAGSTER_ASSET_KEY = "dagster.asset_key"
DAGSTER_PARTITION_KEY = "dagster.partition_key"
DAGSTER_INPUT_DATA_VERSIONS = "dagster.input_data_versions"
CODE_VERSION = "code.version"
CODE_GIT_SHA = "code.git_sha"
CODE_GIT_DIRTY = "code.git_dirty"
LINEAGE_TAGS = (DAGSTER_RUN_ID, DAGSTER_ASSET_KEY, DAGSTER_PARTITION_KEY, DAGSTER_INPUT_DATA_VERSIONS, CODE_VERSION)

MAX_TAG_VALUE = 8000  # MLflow's limit on a run tag value
MAX_INPUT_TAG_VALUE = 500  # and on a dataset input tag value


def input_data_version_key(asset: str, coin: str, day: str) -> str:
    """The key of an input's Dagster data version: `<asset>/<coin>|<day>` (the coin x date partition key)."""
    return f"{asset}/{coin}|{day}"


def dagster_lineage_tags(
    run_id: str,
    asset_key: str,
    partition_key: str,
    code_version: CodeVersion,
    input_data_versions: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The tags a Dagster asset passes to `log_model_run` (see the module docstring)."""
    versions = json.dumps(dict(sorted((input_data_versions or {}).items())), separators=(",", ":"))
    if len(versions) > MAX_TAG_VALUE:
        raise ValueError(f"input data versions take {len(versions)} characters; MLflow tags hold {MAX_TAG_VALUE}")
    return {
        DAGSTER_RUN_ID: run_id,
        DAGSTER_ASSET_KEY: asset_key,
        DAGSTER_PARTITION_KEY: partition_key,
        DAGSTER_INPUT_DATA_VERSIONS: versions,
        CODE_VERSION: str(code_version),
        CODE_GIT_SHA: code_version.git_sha or "unknown",
        CODE_GIT_DIRTY: "unknown" if code_version.dirty is None else str(code_version.dirty).lower(),
    }


def input_datasets(
    inputs: Sequence[tuple[InputPartition, str]], data_versions: Mapping[str, str]
) -> tuple[list, list[str], list[dict[str, str]]]:
    """(datasets, contexts, tags) for `mlflow.log_inputs`: one MetaDataset per (input file, context)."""
    from mlflow.data.dataset_source_registry import resolve_dataset_source
    from mlflow.data.meta_dataset import MetaDataset

    datasets, contexts, tags = [], [], []
    for item, context in inputs:
        with warnings.catch_warnings():
            # A local path also parses as other source types; the local artifact source is the right one.
            warnings.filterwarnings("ignore", message=".*interpreted in multiple ways.*")
            source = resolve_dataset_source(str(item.path))
        datasets.append(MetaDataset(source, name=item.name, digest=item.digest))
        contexts.append(context)
        entry = {"table": item.table, "coin": item.coin, "day": item.day.isoformat(), "sha256": item.sha256,
                 "rows": str(item.rows), "bytes": str(item.bytes)}
        version = data_versions.get(input_data_version_key(item.table, item.coin, item.day.isoformat()))
        if version is not None:
            entry["dagster_data_version"] = version[:MAX_INPUT_TAG_VALUE]
        tags.append(entry)
    return datasets, contexts, tags


def parse_input_data_versions(tags: Mapping[str, str]) -> dict[str, str]:
    return json.loads(tags.get(DAGSTER_INPUT_DATA_VERSIONS) or "{}")
