"""A source described by plain values, so that worker processes can build their own client (an S3 client or a
connection pool cannot be pickled) and a run's configuration shows where its objects came from."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Literal

from hyperliquid_assets.sources.object_sources import HttpsHost, LocalMirror, ObjectSource, S3Bucket
from hyperliquid_assets.sources.retry import RetryPolicy


@dataclass(frozen=True)
class SourceSpec:
    kind: Literal["local", "s3", "https"]
    location: str  # the mirror folder, the bucket name, or the base URL
    region_name: str | None = None
    endpoint_url: str | None = None
    requester_pays: bool = True
    max_attempts: int = 5
    base_delay_s: float = 0.5

    def build(self) -> ObjectSource:
        """The source (one per process and spec: clients are reused across partitions)."""
        return _build(self)


@lru_cache(maxsize=8)
def _build(spec: SourceSpec) -> ObjectSource:
    retry = RetryPolicy(spec.max_attempts, spec.base_delay_s)
    if spec.kind == "local":
        return LocalMirror(Path(spec.location))
    if spec.kind == "s3":
        return S3Bucket(spec.location, region_name=spec.region_name, endpoint_url=spec.endpoint_url,
                        requester_pays=spec.requester_pays, retry=retry)
    if spec.kind == "https":
        return HttpsHost(spec.location, retry=retry)
    raise ValueError(f"unknown source kind {spec.kind!r}")
