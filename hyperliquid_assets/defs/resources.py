"""Resources: the two upstreams (each a local mirror or the real remote) and the lake.

The offline default reads the mirror under data/mirror. `HL_SOURCE=remote` switches both upstreams to the real
remotes. Endpoint URLs can carry credentials, so they are bound as `dg.EnvVar`s: the UI shows the variable's name,
never its value.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal, Mapping, Optional

import dagster as dg

from hyperliquid_assets.lake import Lake
from hyperliquid_assets.settings import Settings
from hyperliquid_assets.sources.layout import BINANCE_HOST, HYPERLIQUID_BUCKET
from hyperliquid_assets.sources.spec import SourceSpec


class HyperliquidArchive(dg.ConfigurableResource):
    """The Hyperliquid L2 archive: `s3://hyperliquid-archive/market_data/...` (requester-pays), or a local mirror."""

    backend: Literal["local", "s3"] = "local"
    mirror_root: str = ""
    bucket: str = HYPERLIQUID_BUCKET
    region_name: Optional[str] = "ap-northeast-1"
    endpoint_url: Optional[str] = None
    requester_pays: bool = True
    max_attempts: int = 5
    base_delay_s: float = 0.5

    def spec(self) -> SourceSpec:
        if self.backend == "local":
            return SourceSpec("local", self.mirror_root)
        return SourceSpec("s3", self.bucket, self.region_name, self.endpoint_url, self.requester_pays,
                          self.max_attempts, self.base_delay_s)


class BinanceVision(dg.ConfigurableResource):
    """Binance public data: `https://data.binance.vision/data/...` daily zips and CHECKSUMs, or a local mirror."""

    backend: Literal["local", "https"] = "local"
    mirror_root: str = ""
    base_url: str = f"https://{BINANCE_HOST}"
    max_attempts: int = 5
    base_delay_s: float = 0.5

    def spec(self) -> SourceSpec:
        if self.backend == "local":
            return SourceSpec("local", self.mirror_root)
        return SourceSpec("https", self.base_url, max_attempts=self.max_attempts, base_delay_s=self.base_delay_s)


class LakeResource(dg.ConfigurableResource):
    """The research lake (raw objects, clean Parquet, features, labels, models' outputs) under `root`, seen with
    the research bar its tables are built at."""

    root: str
    bar: str = "1s"

    def lake(self, settings: Settings | None = None) -> Lake:
        from hyperliquid_assets.defs.partitions import SETTINGS

        return Lake(Path(self.root), self.bar, (settings or SETTINGS).listings)


class MlflowTracking(dg.ConfigurableResource):
    """The MLflow tracking store and registry (default: `sqlite:///<project>/mlruns/mlflow.db`, artifacts under
    `<project>/mlruns/`; any tracking URI by MLFLOW_TRACKING_URI)."""

    tracking_uri: str
    artifact_root: str
    experiment: str = "hyperliquid_assets"
    ui_url: str = "http://127.0.0.1:5000"

    def config(self):
        from hyperliquid_assets.tracking.config import TrackingConfig

        return TrackingConfig(self.tracking_uri, self.artifact_root, self.experiment, self.ui_url)


def resources_from_settings(settings: Settings, env: Mapping[str, str] = os.environ) -> dict[str, dg.ConfigurableResource]:
    remote = settings.source == "remote"
    endpoint = dg.EnvVar("HL_S3_ENDPOINT_URL") if env.get("HL_S3_ENDPOINT_URL") else None
    base_url = dg.EnvVar("HL_BINANCE_BASE_URL") if env.get("HL_BINANCE_BASE_URL") else settings.binance_base_url
    return {
        "hyperliquid_archive": HyperliquidArchive(
            backend="s3" if remote else "local",
            mirror_root=str(settings.mirror_root / HYPERLIQUID_BUCKET),
            region_name=settings.s3_region,
            endpoint_url=endpoint,
        ),
        "binance_vision": BinanceVision(
            backend="https" if remote else "local",
            mirror_root=str(settings.mirror_root / BINANCE_HOST),
            base_url=base_url,
        ),
        "lake": LakeResource(root=str(settings.lake_root), bar=settings.feature_bar),
        "mlflow": _mlflow_resource(env),
    }


def _mlflow_resource(env: Mapping[str, str]) -> MlflowTracking:
    from hyperliquid_assets.tracking.config import default_tracking_config

    default = default_tracking_config(env=env)
    # The tracking URI can name a server with credentials: bound as an EnvVar when set, never shown as a value.
    uri = dg.EnvVar("MLFLOW_TRACKING_URI") if env.get("MLFLOW_TRACKING_URI") else default.tracking_uri
    return MlflowTracking(tracking_uri=uri, artifact_root=default.artifact_root, experiment=default.experiment,
                          ui_url=default.ui_url)
