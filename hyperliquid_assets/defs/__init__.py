"""The Dagster layer: partitions, resources, and per stage its assets, checks and automation. Computation lives in
the plain modules one level up; nothing here does more than call them for each partition and report."""

from hyperliquid_assets.defs import beta_apis  # noqa: F401  (before any definition: the beta APIs used on purpose)
