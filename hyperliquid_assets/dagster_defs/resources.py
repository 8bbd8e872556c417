"""Resources: the two upstreams (each a local mirror or the real remote) and the lake.

The offline default reads the mirror under data/mirror. `HL_SOURCE=remote` switches both upstreams to the real
remotes; the S3 region and endpoint URL (for any S3-compatible store) and the Binance base URL are settable too.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal, Optional

import dagster as dg

from hyperliquid_assets.lake import Lake
from hyperliquid_assets.settings import Settings
from hyperliquid_assets.sources.layout import BINANCE_HOST, HYPERLIQUID_BUCKET
from hyperliquid_assets.sources.object_sources import HttpsHost, LocalMirror, ObjectSource, S3Bucket
from hyperliquid_assets.sources.retry import RetryPolicy


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

    def source(self) -> ObjectSource:
        if self.backend == "local":
            return LocalMirror(Path(self.mirror_root))
        return S3Bucket(
            self.bucket,
            region_name=self.region_name,
            endpoint_url=self.endpoint_url,
            requester_pays=self.requester_pays,
            retry=RetryPolicy(self.max_attempts, self.base_delay_s),
        )


class BinanceVision(dg.ConfigurableResource):
    """Binance public data: `https://data.binance.vision/data/...` daily zips and CHECKSUMs, or a local mirror."""

    backend: Literal["local", "https"] = "local"
    mirror_root: str = ""
    base_url: str = f"https://{BINANCE_HOST}"
    max_attempts: int = 5
    base_delay_s: float = 0.5

    def source(self) -> ObjectSource:
        if self.backend == "local":
            return LocalMirror(Path(self.mirror_root))
        return HttpsHost(self.base_url, retry=RetryPolicy(self.max_attempts, self.base_delay_s))


class LakeResource(dg.ConfigurableResource):
    """The local research lake (raw objects, clean Parquet, features)."""

    root: str

    def lake(self) -> Lake:
        return Lake(Path(self.root))


def resources_from_env(settings: Settings, env=os.environ) -> dict[str, dg.ConfigurableResource]:
    source = env.get("HL_SOURCE", "local")
    if source not in ("local", "remote"):
        raise ValueError(f"HL_SOURCE must be local or remote, not {source!r}")
    remote = source == "remote"
    return {
        "hyperliquid_archive": HyperliquidArchive(
            backend="s3" if remote else "local",
            mirror_root=str(settings.mirror_root / HYPERLIQUID_BUCKET),
            region_name=env.get("HL_S3_REGION", "ap-northeast-1"),
            endpoint_url=env.get("HL_S3_ENDPOINT_URL") or None,
        ),
        "binance_vision": BinanceVision(
            backend="https" if remote else "local",
            mirror_root=str(settings.mirror_root / BINANCE_HOST),
            base_url=env.get("HL_BINANCE_BASE_URL", f"https://{BINANCE_HOST}"),
        ),
        "lake": LakeResource(root=str(settings.lake_root)),
    }
