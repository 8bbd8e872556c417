"""Backoff schedule, and the quality figures that decide whether a clean partition may be written."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

import lz4.frame
import polars as pl
import pytest

from hyperliquid_assets.clean_tables import clean_l2_hour
from hyperliquid_assets.formats.schemas import L2_BOOK_SCHEMA, TRADES_SCHEMA
from hyperliquid_assets.lake import Lake, write_bytes_atomic
from hyperliquid_assets.quality import l2_book_quality, trades_quality
from hyperliquid_assets.sources.errors import PermanentSourceError, TransientSourceError
from hyperliquid_assets.sources.retry import RetryPolicy, with_retries

HOUR = datetime(2026, 1, 1, 0, tzinfo=timezone.utc)


def test_backoff_is_exponential_capped_and_jittered():
    policy = RetryPolicy(max_attempts=10, base_delay_s=0.5, max_delay_s=4.0)
    caps = [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    rng = random.Random(1)
    samples = [[policy.delay(attempt, rng) for _ in range(200)] for attempt in range(1, 7)]
    for cap, values in zip(caps, samples):
        assert 0 <= min(values) and max(values) <= cap
        assert max(values) > 0.8 * cap  # full jitter spans the whole interval
        assert len(set(values)) == len(values)


def test_transient_errors_are_retried_then_reported_with_the_uri():
    calls, sleeps = [], []

    def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise TransientSourceError("s3://b/k", "HTTP 503")
        return b"ok"

    assert with_retries(flaky, RetryPolicy(5, 1.0), "s3://b/k", sleep=sleeps.append, rng=random.Random(0)) == b"ok"
    assert len(calls) == 3 and len(sleeps) == 2

    def always_down():
        raise TransientSourceError("s3://b/k", "HTTP 503")

    with pytest.raises(PermanentSourceError, match=r"^s3://b/k: gave up after 4 attempts; last error: HTTP 503$"):
        with_retries(always_down, RetryPolicy(4, 1.0), "s3://b/k", sleep=sleeps.append)


def test_permanent_errors_are_not_retried():
    calls = []

    def denied():
        calls.append(1)
        raise PermanentSourceError("s3://b/k", "AccessDenied")

    with pytest.raises(PermanentSourceError):
        with_retries(denied, RetryPolicy(5, 0.0), "s3://b/k", sleep=lambda s: None)
    assert len(calls) == 1


def _book(received_s: list[float], best_bid: list[float], best_ask: list[float], size: float = 1.0) -> pl.DataFrame:
    times = [HOUR + timedelta(seconds=s) for s in received_s]
    return pl.DataFrame(
        {
            "received_time": times,
            "exchange_time": [t - timedelta(milliseconds=500) for t in times],
            "ver_num": [1] * len(times),
            "bid_px": [[b, b - 1] for b in best_bid],
            "bid_sz": [[size, 2.0]] * len(times),
            "bid_n": [[1, 1]] * len(times),
            "ask_px": [[a, a + 1] for a in best_ask],
            "ask_sz": [[1.0, 2.0]] * len(times),
            "ask_n": [[1, 1]] * len(times),
        }
    ).cast(L2_BOOK_SCHEMA)


def test_l2_quality_flags_each_kind_of_corruption():
    good = l2_book_quality(_book([0, 61, 3599], [100, 100, 101], [101, 101, 102]), HOUR)
    assert (good.times_monotonic, good.crossed_books, good.nonpositive_values, good.corrupt) == (True, 0, 0, False)
    assert good.coverage == pytest.approx(3 / 60)
    assert l2_book_quality(_book([0, 5, 3], [100] * 3, [101] * 3), HOUR).times_monotonic is False
    assert l2_book_quality(_book([0, 1, 2], [100, 101, 100], [101, 101, 101]), HOUR).crossed_books == 1
    assert l2_book_quality(_book([0, 1], [100, 100], [101, 101], size=0.0), HOUR).nonpositive_values == 2
    # Snapshots outside the hour do not count toward its coverage.
    assert l2_book_quality(_book([-30, 3600], [100] * 2, [101] * 2), HOUR).coverage == 0.0


def test_trades_quality_requires_increasing_ids_and_positive_values():
    def trades(ids, seconds, qty=1.0):
        n = len(ids)
        return pl.DataFrame({
            "time": [HOUR + timedelta(seconds=s) for s in seconds], "trade_id": ids, "first_trade_id": ids,
            "last_trade_id": ids, "price": [100.0] * n, "qty": [qty] * n, "quote_qty": [100.0 * qty] * n,
            "is_buyer_maker": [True] * n, "side": [-1] * n, "is_best_match": [None] * n,
        }).cast(TRADES_SCHEMA)

    ok = trades_quality(trades([1, 2, 3], [0, 0, 90]), HOUR)
    assert (ok.corrupt, ok.coverage) == (False, pytest.approx(2 / 1440))
    assert trades_quality(trades([1, 3, 2], [0, 1, 2]), HOUR).times_monotonic is False
    assert trades_quality(trades([1, 2], [5, 4]), HOUR).times_monotonic is False
    assert trades_quality(trades([1, 2], [0, 1], qty=-1.0), HOUR).nonpositive_values == 2


def test_a_crossed_hour_is_rejected_and_the_stored_clean_file_survives(tmp_path):
    lake = Lake(tmp_path)

    def archive_line(second: int, bid: str, ask: str) -> str:
        outer = (HOUR + timedelta(seconds=second)).strftime("%Y-%m-%dT%H:%M:%S.123456789")
        inner = int((HOUR + timedelta(seconds=second)).timestamp() * 1000) - 500
        return (f'{{"time":"{outer}","ver_num":1,"raw":{{"channel":"l2Book","data":{{"coin":"BTC","time":{inner},'
                f'"levels":[[{{"px":"{bid}","sz":"1","n":1}}],[{{"px":"{ask}","sz":"1","n":1}}]]}}}}}}\n')

    raw_path = lake.raw_l2_path("BTC", HOUR)
    write_bytes_atomic(raw_path, lz4.frame.compress((archive_line(1, "100", "101") + archive_line(2, "100", "101")).encode()))
    assert clean_l2_hour(lake, "BTC", HOUR).status == "written"
    before = lake.clean_l2_path("BTC", HOUR).read_bytes()

    write_bytes_atomic(raw_path, lz4.frame.compress((archive_line(1, "100", "101") + archive_line(2, "102", "101")).encode()))
    outcome = clean_l2_hour(lake, "BTC", HOUR)
    assert (outcome.status, outcome.quality.crossed_books) == ("rejected", 1)
    assert lake.clean_l2_path("BTC", HOUR).read_bytes() == before


def _book_with(column: str, level: int, value: float, rows: int = 3, bad_rows: tuple[int, ...] = (1,)) -> pl.DataFrame:
    """A good two-level book with `value` put at `level` of `column` in the rows `bad_rows`."""
    book = _book(list(range(rows)), [100.0] * rows, [101.0] * rows)
    values = book[column].to_list()
    for row in bad_rows:
        values[row][level] = value
    return book.with_columns(pl.Series(column, values, dtype=L2_BOOK_SCHEMA[column]))


@pytest.mark.parametrize(
    ("column", "level", "value"),
    [("bid_sz", 0, float("nan")), ("ask_px", 0, float("inf")), ("ask_sz", 1, float("nan")),
     ("bid_px", 1, float("-inf")), ("bid_px", 0, float("nan"))],
    ids=["nan-best-bid-size", "inf-best-ask", "nan-deeper-ask-size", "minus-inf-deeper-bid", "nan-best-bid"],
)
def test_a_book_with_nan_or_inf_is_corrupt_and_the_figure_says_so(column, level, value):
    quality = l2_book_quality(_book_with(column, level, value, rows=4, bad_rows=(1, 3)), HOUR)
    assert quality.corrupt
    assert quality.nonfinite_values == 2
    assert quality.problems() == ["2 rows with a NaN or infinite price or size"] or value == float("-inf")
    # Comparisons with NaN are false: the non-positive figure alone never catches it.
    assert quality.nonpositive_values == (2 if value == float("-inf") else 0)


def test_trades_with_a_nan_price_or_an_infinite_quantity_are_corrupt():
    def trades(price: list[float], qty: list[float]) -> pl.DataFrame:
        n = len(price)
        return pl.DataFrame({
            "time": [HOUR + timedelta(seconds=s) for s in range(n)], "trade_id": list(range(1, n + 1)),
            "first_trade_id": [None] * n, "last_trade_id": [None] * n, "price": price, "qty": qty,
            "quote_qty": [p * q for p, q in zip(price, qty)], "is_buyer_maker": [True] * n, "side": [-1] * n,
            "is_best_match": [None] * n,
        }).cast(TRADES_SCHEMA)

    assert trades_quality(trades([100.0, 100.5], [1.0, 2.0]), HOUR).corrupt is False
    nan_price = trades_quality(trades([100.0, float("nan"), 100.5], [1.0, 1.0, 1.0]), HOUR)
    assert nan_price.corrupt
    assert (nan_price.nonfinite_values, nan_price.nonpositive_values) == (1, 0)
    inf_qty = trades_quality(trades([100.0, 100.5], [float("inf"), 1.0]), HOUR)
    assert inf_qty.corrupt
    assert inf_qty.nonfinite_values == 1
