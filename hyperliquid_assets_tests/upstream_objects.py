"""Small upstream objects in the exact archive formats, built by hand so a test controls every value (a NaN size,
a crossed book, a byte that is not UTF-8) and does not depend on what the parsers accept."""

from __future__ import annotations

import hashlib
import io
import zipfile
from datetime import date, datetime, timedelta, timezone

import lz4.frame


def l2_line(hour: datetime, second: int, bid: tuple[str, str] = ("100", "1"), ask: tuple[str, str] = ("101", "1"),
            coin: str = "BTC") -> str:
    """One archive snapshot line with one level a side: (px, sz) as the archive writes them, strings."""
    at = hour + timedelta(seconds=second)
    outer = at.strftime("%Y-%m-%dT%H:%M:%S.123456789")
    inner = int(at.timestamp() * 1000) - 500
    return (f'{{"time":"{outer}","ver_num":1,"raw":{{"channel":"l2Book","data":{{"coin":"{coin}","time":{inner},'
            f'"levels":[[{{"px":"{bid[0]}","sz":"{bid[1]}","n":1}}],[{{"px":"{ask[0]}","sz":"{ask[1]}","n":1}}]]}}}}}}\n')


def l2_hour_object(hour: datetime, lines: list[str] | None = None, every_s: int = 10) -> bytes:
    """An archive hour (.lz4): the given lines, or a plain two-sided book every `every_s` seconds."""
    text = "".join(lines) if lines is not None else "".join(l2_line(hour, s) for s in range(0, 3600, every_s))
    return lz4.frame.compress(text.encode())


def spot_trades_zip(day: date, rows: list[tuple[str, str]] | None = None, symbol: str = "BTCUSDT",
                    csv_prefix: bytes = b"") -> tuple[bytes, bytes]:
    """A Binance spot trades day (no header row, ms times) and its CHECKSUM: rows of (price, qty) as written, one
    trade a minute; `csv_prefix` is put before the first row (e.g. a header with a byte that is not UTF-8)."""
    rows = rows if rows is not None else [("100.5", "0.25")] * 60
    start_ms = int(datetime(day.year, day.month, day.day, tzinfo=timezone.utc).timestamp() * 1000)
    lines = [
        f"{i + 1},{px},{qty},{float(px) * float(qty) if px[0].isdigit() else px},{start_ms + i * 60_000},"
        f"{'true' if i % 2 else 'false'},true"
        for i, (px, qty) in enumerate(rows)
    ]
    name = f"{symbol}-trades-{day:%Y-%m-%d}"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(f"{name}.csv", csv_prefix + ("\n".join(lines) + "\n").encode())
    blob = buffer.getvalue()
    return blob, f"{hashlib.sha256(blob).hexdigest()}  {name}.zip\n".encode()
