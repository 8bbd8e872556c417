"""Parsing an hour and a trades day, checking them and writing Parquet never imports pandas (pyarrow imports it
the first time a Python value becomes an Arrow scalar, ~250 ms of every one-shot command)."""

from __future__ import annotations

import json
import subprocess
import sys

from hyperliquid_assets_tests.conftest import REAL_COINM_DAY, REAL_L2_HOUR


def test_the_ingest_path_never_imports_pandas(real_data, tmp_path):
    code = f"""
import json, sys
from datetime import datetime, timezone
from pathlib import Path
import lz4.frame
from hyperliquid_assets.formats.binance_trades import parse_trades_zip, verify_checksum
from hyperliquid_assets.formats.hyperliquid_l2 import parse_l2_book, snapshot_span, decompress_lz4
from hyperliquid_assets.lake import write_parquet_atomic
from hyperliquid_assets.quality import l2_book_quality, trades_quality
from hyperliquid_assets.settings import BinanceListing

blob = Path({str(real_data / REAL_L2_HOUR)!r}).read_bytes()
hour = datetime(2024, 1, 1, 12, tzinfo=timezone.utc)
snapshot_span(decompress_lz4(blob, "h"), "h")
book = parse_l2_book(blob, "h", "BTC")
assert not l2_book_quality(book, hour).corrupt
write_parquet_atomic(book, Path({str(tmp_path / 'h.parquet')!r}), {{}})
# The general parser too (an object outside the archive's canonical layout: spaces after the separators).
lines = [json.dumps(json.loads(l), separators=(", ", ": ")) for l in lz4.frame.decompress(blob).splitlines()[:50]]
assert parse_l2_book(lz4.frame.compress("\\n".join(lines).encode()), "g", "BTC").height == 50

zip_path = Path({str(real_data / REAL_COINM_DAY)!r})
day = zip_path.read_bytes()
verify_checksum(day, zip_path.with_name(zip_path.name + ".CHECKSUM").read_bytes(), str(zip_path))
trades = parse_trades_zip(day, BinanceListing("BTCUSD_PERP", "coinm", "aggTrades", 100.0), str(zip_path))
assert not trades_quality(trades, datetime(2026, 5, 8, tzinfo=timezone.utc)).corrupt
write_parquet_atomic(trades, Path({str(tmp_path / 't.parquet')!r}), {{}}, compression_level=1)
print(json.dumps({{"pandas": "pandas" in sys.modules, "pyarrow": "pyarrow" in sys.modules,
                  "rows": [book.height, trades.height]}}))
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report == {"pandas": False, "pyarrow": False, "rows": [5587, 105280]}
