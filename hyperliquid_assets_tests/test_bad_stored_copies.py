"""A value or object that cannot be cleaned never reaches a table, and a bad stored copy converges once the
upstream copy is fixed: the clean step sets it aside (never deletes it) and the next raw run fetches it again.

Objects are built by hand (upstream_objects.py) and served by real local servers: moto's S3 for the archive, a
local HTTP server for Binance. The tests accept either way of refusing a bad value (the parser's corrupt-object
error or the quality check's rejection); what they pin is that nothing is written and the copy is set aside.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timezone
from pathlib import Path

import lz4.frame
import polars as pl
import pytest
from werkzeug import Response

from hyperliquid_assets.clean_tables import clean_l2_hour, clean_trades_day
from hyperliquid_assets.formats.errors import CorruptObjectError
from hyperliquid_assets.lake import Lake, write_bytes_atomic
from hyperliquid_assets.raw_objects import store_l2_hour, store_trades_day
from hyperliquid_assets.research_tables import book_features_day
from hyperliquid_assets.settings import BinanceListing
from hyperliquid_assets.sources.layout import binance_trades_key, checksum_key, l2_book_key
from hyperliquid_assets.sources.object_sources import HttpsHost, S3Bucket
from hyperliquid_assets.sources.retry import RetryPolicy
from hyperliquid_assets_tests.fault_proxy import FaultProxy
from hyperliquid_assets_tests.upstream_objects import l2_hour_object, l2_line, spot_trades_zip

DAY = date(2026, 1, 1)
HOUR = datetime(2026, 1, 1, 5, tzinfo=timezone.utc)
LISTING = BinanceListing("BTCUSDT")
FAST_RETRY = RetryPolicy(max_attempts=3, base_delay_s=0.01, max_delay_s=0.05)


def _non_utf8_coin(hour: datetime) -> str:
    return l2_line(hour, 1800).replace('"coin":"BTC"', '"coin":"B\udcffC"')


BAD_HOURS = {
    "nan-size": lambda h: l2_line(h, 1800, bid=("100", "NaN")),
    "inf-price": lambda h: l2_line(h, 1800, ask=("inf", "1")),
    "crossed-book": lambda h: l2_line(h, 1800, bid=("102", "1"), ask=("101", "1")),
    "non-utf8-byte": _non_utf8_coin,
    "malformed-line": lambda h: l2_line(h, 1800)[:-40] + "\n",
}


def _bad_hour_object(case: str, hour: datetime = HOUR) -> bytes:
    """A good hour (a snapshot every 10 s) with the middle snapshot replaced by a bad one: the raw check, which
    reads the first and last lines, passes; cleaning must not. (surrogateescape turns the lone surrogate of
    the non-UTF-8 case back into the raw byte 0xff.)"""
    lines = [l2_line(hour, s) for s in range(0, 3600, 10)]
    lines[180] = BAD_HOURS[case](hour)
    return lz4.frame.compress("".join(lines).encode("utf-8", "surrogateescape"))


def _refused(clean) -> tuple[str, Path | None]:
    """Run a clean step that must refuse its input; returns (message, where the raw copy was set aside)."""
    try:
        outcome = clean()
    except CorruptObjectError as exc:
        return str(exc), getattr(exc, "set_aside_as", None)
    assert outcome.status == "rejected", outcome
    return f"{outcome.problem}", outcome.set_aside


@pytest.mark.parametrize("case", ["nan-size", "inf-price"])
def test_an_hour_with_nan_or_inf_never_reaches_the_clean_table_and_the_days_features_stay_finite(tmp_path, case):
    lake = Lake(tmp_path)
    hours = [datetime(2026, 1, 1, h, tzinfo=timezone.utc) for h in range(4, 7)]
    for hour in hours:
        blob = _bad_hour_object(case, hour) if hour == HOUR else l2_hour_object(hour)
        write_bytes_atomic(lake.raw_l2_path("BTC", hour), blob)
    for hour in hours:
        if hour == HOUR:
            message, _ = _refused(lambda: clean_l2_hour(lake, "BTC", hour))
            assert "NaN or infinite" in message or "not a number" in message
        else:
            assert clean_l2_hour(lake, "BTC", hour).status == "written"
    assert not lake.clean_l2_path("BTC", HOUR).exists()

    assert book_features_day(lake, "BTC", DAY, "1s").status == "written"
    table = pl.read_parquet(lake.feature_path("book_features", "BTC", DAY))
    floats = [name for name, dtype in table.schema.items() if dtype.is_float()]
    nonfinite = table.select((pl.col(name).is_nan() | pl.col(name).is_infinite()).sum() for name in floats).row(0)
    assert dict(zip(floats, nonfinite)) == dict.fromkeys(floats, 0)


def test_a_trades_day_with_a_nan_price_never_reaches_the_clean_table(tmp_path):
    lake = Lake(tmp_path)
    blob, checksum = spot_trades_zip(DAY, [("100.5", "1")] * 10 + [("NaN", "1")] + [("100.5", "1")] * 10)
    write_bytes_atomic(lake.raw_trades_path(LISTING, DAY), blob)
    write_bytes_atomic(lake.raw_trades_checksum_path(LISTING, DAY), checksum)
    message, _ = _refused(lambda: clean_trades_day(lake, "BTC", LISTING, DAY))
    assert "NaN or infinite" in message or "not a number" in message
    assert not lake.clean_trades_path("BTC", DAY).exists()


def _s3(endpoint: str, bucket: str) -> S3Bucket:
    return S3Bucket(bucket, endpoint_url=endpoint, region_name="us-east-1", retry=FAST_RETRY)


@pytest.mark.parametrize("case", list(BAD_HOURS))
def test_a_stored_hour_that_fails_cleaning_is_set_aside_and_converges_once_upstream_is_fixed(
    archive_bucket, tmp_path, case, caplog
):
    endpoint, bucket, client = archive_bucket
    key, bad, good = l2_book_key("BTC", HOUR), _bad_hour_object(case), l2_hour_object(HOUR)
    client.put_object(Bucket=bucket, Key=key, Body=bad)
    lake = Lake(tmp_path)
    raw_path = lake.raw_l2_path("BTC", HOUR)
    with FaultProxy(endpoint) as proxy:
        source = _s3(proxy.url, bucket)
        assert store_l2_hour(source, lake, "BTC", HOUR).status == "stored"  # the raw check reads first/last lines
        message, aside = _refused(lambda: clean_l2_hour(lake, "BTC", HOUR))
        # The warning (which reaches the run's event log) names the file, where it went, and what happens next.
        assert any(str(raw_path) in r.getMessage() and f"set aside as {aside}" in r.getMessage()
                   and "the next run fetches the object again" in r.getMessage() for r in caplog.records), message
        assert aside is not None and aside.read_bytes() == bad and aside.parent == raw_path.parent
        assert not raw_path.exists() and not lake.clean_l2_path("BTC", HOUR).exists()

        client.put_object(Bucket=bucket, Key=key, Body=good)  # upstream fixes its copy
        gets = proxy.gets
        assert store_l2_hour(source, lake, "BTC", HOUR).status == "stored"
        assert proxy.gets == gets + 1
        assert clean_l2_hour(lake, "BTC", HOUR).status == "written"
        assert store_l2_hour(source, lake, "BTC", HOUR).status == "already_stored"
        assert proxy.gets == gets + 1
    assert raw_path.read_bytes() == good
    assert aside.read_bytes() == bad  # kept for inspection


def test_the_parse_error_says_which_file_where_it_was_set_aside_and_what_happens_next(tmp_path):
    lake = Lake(tmp_path)
    raw_path = lake.raw_l2_path("BTC", HOUR)
    write_bytes_atomic(raw_path, _bad_hour_object("malformed-line"))
    with pytest.raises(CorruptObjectError) as failure:
        clean_l2_hour(lake, "BTC", HOUR)
    (aside,) = raw_path.parent.glob("BTC.lz4.corrupt-*")
    message = str(failure.value)
    assert re.match(rf"{re.escape(str(raw_path))}: (line \d+: )?malformed snapshot line", message), message
    assert f"set aside as {aside}" in message and "the next run fetches the object again" in message


def test_a_crossed_hour_says_why_and_where_it_was_set_aside(tmp_path):
    lake = Lake(tmp_path)
    write_bytes_atomic(lake.raw_l2_path("BTC", HOUR), _bad_hour_object("crossed-book"))
    outcome = clean_l2_hour(lake, "BTC", HOUR)
    assert (outcome.status, outcome.quality.crossed_books) == ("rejected", 1)
    assert outcome.problem == "1 crossed books (best bid >= best ask)"
    assert outcome.set_aside.name.startswith("BTC.lz4.corrupt-") and outcome.set_aside.exists()


BAD_DAYS = {
    "nan-price": lambda: spot_trades_zip(DAY, [("100.5", "1")] * 10 + [("NaN", "1")]),
    "zero-qty": lambda: spot_trades_zip(DAY, [("100.5", "1")] * 10 + [("100.5", "0")]),
    "non-utf8-header": lambda: spot_trades_zip(
        DAY, csv_prefix=b"id,pr\xffice,qty,quote_qty,time,is_buyer_maker,is_best_match\n"),
}


@pytest.mark.parametrize("case", list(BAD_DAYS))
def test_a_stored_trades_day_that_fails_cleaning_is_set_aside_and_converges_once_upstream_is_fixed(
    httpserver, tmp_path, case
):
    key = binance_trades_key(LISTING, DAY)
    bad, bad_checksum = BAD_DAYS[case]()
    good, good_checksum = spot_trades_zip(DAY)
    served = {"zip": bad, "checksum": bad_checksum}
    httpserver.no_handler_status_code = 404
    httpserver.expect_request(f"/{key}").respond_with_handler(lambda r: _respond(served["zip"]))
    httpserver.expect_request(f"/{checksum_key(key)}").respond_with_handler(lambda r: _respond(served["checksum"]))
    source = HttpsHost(httpserver.url_for("/").rstrip("/"), retry=FAST_RETRY, timeout_s=5)
    lake = Lake(tmp_path)
    raw_path, checksum_path = lake.raw_trades_path(LISTING, DAY), lake.raw_trades_checksum_path(LISTING, DAY)

    assert store_trades_day(source, lake, LISTING, DAY).status == "stored"
    message, aside = _refused(lambda: clean_trades_day(lake, "BTC", LISTING, DAY))
    assert aside is not None and aside.read_bytes() == bad
    assert not raw_path.exists() and not checksum_path.exists()  # the CHECKSUM goes aside with its zip
    assert [p.read_bytes() for p in raw_path.parent.glob("*.CHECKSUM.corrupt-*")] == [bad_checksum]
    assert not lake.clean_trades_path("BTC", DAY).exists()

    served.update(zip=good, checksum=good_checksum)
    assert store_trades_day(source, lake, LISTING, DAY).status == "stored"
    assert clean_trades_day(lake, "BTC", LISTING, DAY).status == "written"
    assert store_trades_day(source, lake, LISTING, DAY).status == "already_stored"
    assert raw_path.read_bytes() == good and aside.read_bytes() == bad


def _respond(body: bytes) -> Response:
    return Response(body)


def test_a_write_failure_is_not_blamed_on_the_stored_copy(tmp_path):
    """Only a copy that cannot be cleaned is set aside; a failure to write the clean table (here a folder in
    the way of the file, like a full disk an OSError) leaves the raw copy where it is."""
    lake = Lake(tmp_path)
    raw_path = lake.raw_l2_path("BTC", HOUR)
    write_bytes_atomic(raw_path, l2_hour_object(HOUR))
    lake.clean_l2_path("BTC", HOUR).mkdir(parents=True)
    with pytest.raises(OSError):
        clean_l2_hour(lake, "BTC", HOUR)
    assert raw_path.exists() and list(raw_path.parent.glob("*.corrupt-*")) == []
