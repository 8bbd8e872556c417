"""The job the upstream sensor launches: re-take the inventory of coin-days where an upstream published something."""

from __future__ import annotations

import dagster as dg

upstream_inventory_job = dg.define_asset_job(
    "upstream_inventory_job",
    selection=dg.AssetSelection.assets("upstream_inventory"),
    description="Take the inventory of what the upstreams have published (launched by upstream_sensor); the raw "
    "assets then fetch what is new, and everything downstream follows by automation.",
)
