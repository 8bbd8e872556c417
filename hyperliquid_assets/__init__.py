"""Hyperliquid L2 archive and Binance trades -> a research lake, as a Dagster code location."""

__version__ = "0.1.0"
