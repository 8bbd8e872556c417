"""Object keys of the two upstreams, exactly as the upstreams lay them out.

A local mirror uses the same relative keys under one folder per upstream, so switching between the mirror and
the real remote changes nothing but the backend.
"""

from __future__ import annotations

from datetime import date, datetime

from hyperliquid_assets.settings import BinanceListing

HYPERLIQUID_BUCKET = "hyperliquid-archive"
BINANCE_HOST = "data.binance.vision"

_MARKET_PATHS = {"spot": "spot", "usdm": "futures/um", "coinm": "futures/cm"}


def l2_book_key(coin: str, hour: datetime) -> str:
    """`market_data/YYYYMMDD/H/l2Book/COIN.lz4` (H without a leading zero), relative to the bucket."""
    return f"market_data/{hour:%Y%m%d}/{hour.hour}/l2Book/{coin}.lz4"


def binance_trades_key(listing: BinanceListing, day: date) -> str:
    """`data/<market>/daily/<kind>/<SYMBOL>/<SYMBOL>-<kind>-YYYY-MM-DD.zip`, relative to the host."""
    market = _MARKET_PATHS[listing.market]
    name = f"{listing.symbol}-{listing.kind}-{day:%Y-%m-%d}.zip"
    return f"data/{market}/daily/{listing.kind}/{listing.symbol}/{name}"


def checksum_key(zip_key: str) -> str:
    return zip_key + ".CHECKSUM"
