"""The synthetic demo market: upstream byte formats, determinism, archive gaps, and the planted signal."""

from __future__ import annotations

import hashlib
import io
import json
import re
import zipfile
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

import lz4.frame
import numpy as np
import pytest

from hyperliquid_assets.demo.archive import (
    compress_l2,
    iter_l2_hours,
    write_binance_day,
    write_demo_archive,
    write_l2_hour,
)
from hyperliquid_assets.demo.market import (
    _LEAD_MS,
    PRESSURE_STREAM,
    DemoMarketParams,
    epoch_ms,
    simulate_book,
    simulate_latent,
)
from hyperliquid_assets.demo.trades import binance_steps, simulate_trades
from hyperliquid_assets.settings import BinanceListing
from hyperliquid_assets.sources.layout import binance_trades_key, checksum_key, l2_book_key
from hyperliquid_assets_tests.conftest import REAL_L2_HOUR

START = date(2024, 12, 31)  # two days across the spot ms -> us switch on 2025-01-01
LISTINGS = {
    "BTC": BinanceListing("BTCUSDT", "spot", "trades"),
    "ETH": BinanceListing("ETHUSDT", "usdm", "aggTrades"),
    "SOL": BinanceListing("SOLUSD_PERP", "coinm", "trades", contract_size=10),
}
# Sparser than the default so the two-day, three-coin fixture stays fast.
FAST = DemoMarketParams(snapshot_gap_s=60.0, trades_per_hour=1_500, identical_book_prob=0.15,
                        microsecond_time_prob=0.01, thin_side_prob=0.01)
MISSING = [("BTC", "2024-12-31T05"), ("SOL", "2025-01-01")]
SEED = 11

PX = re.compile(r"^\d+\.(\d*[1-9]|0)$")  # exchange-style decimal: trailing zeros trimmed, at least one digit
OUTER = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.(\d{6}|\d{9})$")


def _hours(day: date, days: int = 2) -> list[datetime]:
    first = datetime(day.year, day.month, day.day)
    return [first + timedelta(hours=h) for h in range(24 * days)]


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    root = tmp_path_factory.mktemp("mirror")
    summary = write_demo_archive(root, list(LISTINGS), START, 2, LISTINGS, FAST, seed=SEED, missing=MISSING)
    return root, summary


def _l2_path(root: Path, coin: str, hour: datetime) -> Path:
    return root / "hyperliquid-archive" / l2_book_key(coin, hour)


def _zip_path(root: Path, coin: str, day: date) -> Path:
    return root / "data.binance.vision" / binance_trades_key(LISTINGS[coin], day)


def _lines(path: Path) -> list[bytes]:
    data = lz4.frame.decompress(path.read_bytes())
    assert data.endswith(b"\n")
    return data[:-1].split(b"\n")


def _parse_l2(paths: list[Path]) -> dict[str, np.ndarray]:
    """Top of book from written hour files: exchange ms, receive ns, best prices/sizes."""
    inner, outer, bid, ask, bsz, asz = [], [], [], [], [], []
    for path in paths:
        for line in _lines(path):
            snap = json.loads(line)
            levels = snap["raw"]["data"]["levels"]
            inner.append(snap["raw"]["data"]["time"])
            outer.append(snap["time"])
            bid.append(float(levels[0][0]["px"]))
            ask.append(float(levels[1][0]["px"]))
            bsz.append(float(levels[0][0]["sz"]))
            asz.append(float(levels[1][0]["sz"]))
    b, a, bs, az = map(np.array, (bid, ask, bsz, asz))
    return {"inner_ms": np.array(inner, dtype=np.int64), "outer_ns": np.array(outer, dtype="datetime64[ns]").astype(
        np.int64), "mid": (b + a) / 2, "imbalance": (bs - az) / (bs + az)}


def _key_tree(value):
    if isinstance(value, dict):
        return {k: _key_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_key_tree(value[0][0])] if value and isinstance(value[0], list) else type(value).__name__
    return type(value).__name__


# ----------------------------------------------------------------------------------------------------------------
# Hyperliquid hour files


def _check_levels(coin: str, levels: list) -> None:
    bids, asks = levels
    assert 1 <= len(bids) <= 20 and 1 <= len(asks) <= 20
    for level in bids + asks:
        assert PX.match(level["px"]) and PX.match(level["sz"]), level
        assert len(level["sz"].split(".")[1]) <= 5 and float(level["sz"]) > 0
        assert isinstance(level["n"], int) and level["n"] >= 1
    bid_px = [float(level["px"]) for level in bids]
    ask_px = [float(level["px"]) for level in asks]
    assert all(a > b for a, b in zip(bid_px, bid_px[1:])), "bids must strictly decrease"
    assert all(a < b for a, b in zip(ask_px, ask_px[1:])), "asks must strictly increase"
    assert bid_px[0] < ask_px[0], "crossed book"
    if coin == "BTC":
        assert all(level["px"].endswith(".0") for level in bids + asks), "BTC tick is 1"


def test_l2_hours_have_the_archive_structure(archive):
    root, _ = archive
    saw_identical = saw_micro = saw_thin = False
    for coin in LISTINGS:
        for hour in _hours(START):
            if (coin, f"{hour:%Y-%m-%dT%H}") in MISSING:
                continue
            data = lz4.frame.decompress(_l2_path(root, coin, hour).read_bytes())
            assert data.endswith(b"\n") and b" " not in data, "compact JSON lines, newline-terminated"
            lines = data[:-1].split(b"\n")
            snaps = [json.loads(line) for line in lines]
            outer_text = [snap["time"] for snap in snaps]
            assert all(OUTER.match(text) for text in outer_text), "outer time: ISO, no zone, 6 or 9 digits"
            saw_micro |= any(len(text) == 26 for text in outer_text)
            outer = np.array(outer_text, dtype="datetime64[ns]").astype(np.int64)
            inner = np.array([snap["raw"]["data"]["time"] for snap in snaps], dtype=np.int64) * 10**6
            hour_ns = int(np.datetime64(hour, "ns").astype(np.int64))
            assert outer[0] >= hour_ns and outer[-1] < hour_ns + 3_600 * 10**9, "outer time outside the hour"
            assert np.all(np.diff(outer) > 0), "lines in receive order"
            assert np.all((outer - inner >= 0.2e9) & (outer - inner <= 1.5e9)), "receive delay out of range"
            heads = {(s["ver_num"], s["raw"]["channel"], s["raw"]["data"]["coin"]) for s in snaps}
            assert heads == {(1, "l2Book", coin)}
            levels = [snap["raw"]["data"]["levels"] for snap in snaps]
            saw_identical |= any(a == b for a, b in zip(levels, levels[1:]))
            saw_thin |= any(min(len(side) for side in level) < 20 for level in levels)
            for level in levels[::7]:
                _check_levels(coin, level)
    assert saw_identical and saw_micro and saw_thin


def test_identical_books_follow_the_probability(tmp_path):
    start = datetime(2026, 3, 1)
    counts = {}
    for prob in (0.0, 0.3):
        book = simulate_book("ETH", start, start + timedelta(hours=1), replace(FAST, identical_book_prob=prob), 3)
        (_, lines), = iter_l2_hours(book, FAST, 3)
        levels = [line[line.index(b'"levels"'):] for line in lines.split(b"\n")[:-1]]
        counts[prob] = sum(a == b for a, b in zip(levels, levels[1:])) / (len(levels) - 1)
    assert counts[0.0] < 0.01
    assert 0.2 < counts[0.3] < 0.4


def test_l2_lines_have_the_real_files_keys_and_frame(archive, real_data):
    root, _ = archive
    real_blob = (real_data / REAL_L2_HOUR).read_bytes()
    real_first = json.loads(lz4.frame.decompress(real_blob).split(b"\n", 1)[0])
    demo_blob = _l2_path(root, "ETH", _hours(START)[7]).read_bytes()
    demo_first = json.loads(lz4.frame.decompress(demo_blob).split(b"\n", 1)[0])
    assert _key_tree(demo_first) == _key_tree(real_first)
    assert list(demo_first) == list(real_first) and list(demo_first["raw"]["data"]) == list(real_first["raw"]["data"])
    assert lz4.frame.get_frame_info(demo_blob) == lz4.frame.get_frame_info(real_blob) | {"content_size": 0}
    # The demo's compressor settings reproduce the real object byte for byte.
    assert compress_l2(lz4.frame.decompress(real_blob)) == real_blob


# ----------------------------------------------------------------------------------------------------------------
# Binance day zips


def _member(zip_path: Path) -> bytes:
    blob = zip_path.read_bytes()
    checksum = (zip_path.parent / (zip_path.name + ".CHECKSUM")).read_text()
    assert checksum == f"{hashlib.sha256(blob).hexdigest()}  {zip_path.name}", "CHECKSUM line (and no newline)"
    with zipfile.ZipFile(io.BytesIO(blob)) as archive:
        assert archive.testzip() is None
        (info,) = archive.infolist()
        assert info.filename == zip_path.name[:-4] + ".csv" and info.compress_type == zipfile.ZIP_DEFLATED
        return archive.read(info)


def _rows(text: bytes) -> list[list[str]]:
    return [row.split(",") for row in text.decode().splitlines()]


def test_binance_days_match_the_market_conventions(archive):
    root, _ = archive
    btc = [_rows(_member(_zip_path(root, "BTC", START + timedelta(days=d)))) for d in (0, 1)]
    for day, rows in enumerate(btc):
        assert rows[0][0].isdigit(), "spot files have no header"
        assert {len(r) for r in rows} == {7} and {r[5] for r in rows} == {"True", "False"} and {r[6] for r in rows} == {
            "True"}
        assert all(re.fullmatch(r"\d+\.\d{8}", v) for r in rows[:200] for v in r[1:4])
        times = np.array([int(r[4]) for r in rows])
        assert {len(r[4]) for r in rows} == ({13} if day == 0 else {16}), "ms before 2025, us from 2025-01-01"
        day_start = int(np.datetime64(START + timedelta(days=day), "ms").astype(np.int64))
        scale = 1 if day == 0 else 1000
        assert times[0] >= day_start * scale and times[-1] < (day_start + 86_400_000) * scale
        assert np.all(np.diff(times) >= 0)
        for r in rows[:200]:
            assert abs(float(r[1]) * float(r[2]) - float(r[3])) <= 1e-8 * max(1.0, float(r[3]))
    ids = np.array([int(r[0]) for rows in btc for r in rows])
    assert np.all(np.diff(ids) == 1), "trade ids run on across the day boundary"

    eth = _member(_zip_path(root, "ETH", START)).decode().splitlines()
    assert eth[0] == "agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker"
    rows = _rows("\n".join(eth[1:]).encode())
    assert {r[6] for r in rows} == {"true", "false"} and {len(r[5]) for r in rows} == {13}
    first, last = np.array([int(r[3]) for r in rows]), np.array([int(r[4]) for r in rows])
    assert np.all(np.diff([int(r[0]) for r in rows]) > 0) and np.all(last >= first)
    assert np.all(first[1:] == last[:-1] + 1), "aggregates cover consecutive trade ids"
    assert all(PX.match(r[1]) and PX.match(r[2]) for r in rows)

    sol = _member(_zip_path(root, "SOL", START)).decode().splitlines()
    assert sol[0] == "id,price,qty,base_qty,time,is_buyer_maker"
    for r in _rows("\n".join(sol[1:200]).encode()):
        contracts, base = float(r[2]), float(r[3])
        assert contracts == int(contracts) >= 1 and base == pytest.approx(contracts * 10 / float(r[1]), rel=1e-6)


@pytest.mark.parametrize("market", ["spot", "usdm", "coinm"])
@pytest.mark.parametrize("kind", ["trades", "aggTrades"])
def test_write_binance_day_every_market_and_kind(tmp_path, market, kind):
    listing = BinanceListing("ETHUSD_PERP" if market == "coinm" else "ETHUSDT", market, kind,
                             contract_size=10 if market == "coinm" else None)
    day = date(2025, 3, 2)
    path = write_binance_day(tmp_path, listing, day, 5_000, seed=5)
    assert path == tmp_path / "data.binance.vision" / binance_trades_key(listing, day)
    assert (tmp_path / "data.binance.vision" / checksum_key(binance_trades_key(listing, day))).exists()
    lines = _member(path).decode().splitlines()
    header = {
        ("usdm", "trades"): "id,price,qty,quote_qty,time,is_buyer_maker",
        ("coinm", "trades"): "id,price,qty,base_qty,time,is_buyer_maker",
    }.get((market, kind), "agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker")
    columns = {("spot", "trades"): 7, ("spot", "aggTrades"): 8}.get((market, kind), len(header.split(",")))
    if market == "spot":
        assert len(lines) == 5_000 and lines[0][0].isdigit()
        booleans, time_digits = {"True", "False"}, 16
    else:
        assert len(lines) == 5_001 and lines[0] == header
        lines, booleans, time_digits = lines[1:], {"true", "false"}, 13
    rows = _rows("\n".join(lines).encode())
    time_col = 5 if kind == "aggTrades" else 4
    assert {r[time_col + 1] for r in rows} == booleans and {len(r) for r in rows} == {columns}
    assert {len(r[time_col]) for r in rows} == {time_digits}
    assert np.all(np.diff([int(r[time_col]) for r in rows]) >= 0) and np.all(np.diff([int(r[0]) for r in rows]) > 0)
    tick, _ = binance_steps(listing, 3_000.0)
    prices = np.array([float(r[1]) for r in rows])
    assert np.allclose(prices / tick, np.rint(prices / tick), rtol=0, atol=1e-6), "prices on the tick grid"
    assert all(float(r[2]) > 0 for r in rows)


@pytest.mark.parametrize("lead_s", [0.0, 3.0])
def test_binance_prints_at_quotes_from_books_received_by_then(tmp_path, lead_s):
    """A taker order prints its first level at the Binance ask (buy) or bid (sell) implied by the Hyperliquid
    book the recorder had RECEIVED by the trade time (plus the lead knob), and its further levels beyond it:
    with no lead, Binance knows nothing the Hyperliquid features at that time do not."""
    start = datetime(2026, 3, 2)
    params = replace(DemoMarketParams(), cross_venue_lead_s=lead_s, trades_per_hour=3_000)
    listing = BinanceListing("BTCUSDT", "spot", "aggTrades")
    book = simulate_book("BTC", start, start + timedelta(hours=2), params, 4)
    trades = simulate_trades(book, listing, params, 4)
    scale = 10**trades.price_decimals
    t_ns = trades.time_us * 1000 + round(lead_s * 1e9)
    at = np.searchsorted(book.received_ns, t_ns, side="right") - 1
    assert at.min() >= 0
    reference = book.mid[at] * (1 + params.binance_basis_bps / 1e4)
    bid = np.floor(reference * scale / trades.tick_units) * trades.tick_units
    buy = ~trades.is_buyer_maker
    first = np.concatenate([[True], (np.diff(trades.time_us) != 0) | (np.diff(buy) != 0)])  # one taker order
    assert np.array_equal(trades.bid, bid) and np.array_equal(trades.ask, bid + trades.tick_units)
    assert np.array_equal(trades.price[first & buy], trades.ask[first & buy]), "a buy starts at the ask"
    assert np.array_equal(trades.price[first & ~buy], trades.bid[first & ~buy]), "a sell starts at the bid"
    assert np.all(trades.price[buy] >= trades.ask[buy]) and np.all(trades.price[~buy] <= trades.bid[~buy])
    assert (~first).mean() > 0.3, "taker orders sweep several levels"
    # An earlier (exchange-time) book would differ: the quote is tied to receive time, not exchange time.
    by_exchange = np.searchsorted(book.exchange_ms * 1_000_000, t_ns, side="right") - 1
    assert (book.mid[by_exchange] != book.mid[at]).mean() > 0.05


def test_plain_trades_split_aggregates_into_fills(tmp_path):
    """A plain-trades day has fills_per_agg_trade rows per aggregate trade: same time, side and price."""
    start = datetime(2026, 3, 2)
    book = simulate_book("ETH", start, start + timedelta(hours=1), DemoMarketParams(), 2)
    plain = simulate_trades(book, BinanceListing("ETHUSDT", "spot", "trades"), DemoMarketParams(), 2)
    aggregated = simulate_trades(book, BinanceListing("ETHUSDT", "spot", "aggTrades"), DemoMarketParams(), 2)
    fills = aggregated.last_trade_id - aggregated.first_trade_id + 1
    assert len(plain) == fills.sum()
    assert np.array_equal(np.repeat(aggregated.price, fills), plain.price)
    assert np.array_equal(np.repeat(aggregated.time_us, fills), plain.time_us)
    owner = np.repeat(np.arange(len(aggregated)), fills)
    assert np.array_equal(np.bincount(owner, weights=plain.qty).astype(np.int64), aggregated.qty)
    assert 2.0 < fills.mean() < 2.6 and plain.qty.min() > 0


# ----------------------------------------------------------------------------------------------------------------
# Determinism and gaps


def _tree(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_missing_objects_are_left_out_and_nothing_else(archive):
    root, summary = archive
    files = _tree(root)
    assert not [name for name in files if Path(name).name.startswith(".")], "no temp files left behind"
    expected = set()
    for coin in LISTINGS:
        for hour in _hours(START):
            if (coin, f"{hour:%Y-%m-%dT%H}") not in MISSING:
                expected.add(str(_l2_path(root, coin, hour).relative_to(root)))
        for day in (START, START + timedelta(days=1)):
            if (coin, day.isoformat()) not in MISSING:
                zip_path = _zip_path(root, coin, day)
                expected |= {str(zip_path.relative_to(root)), str(zip_path.relative_to(root)) + ".CHECKSUM"}
    assert set(files) == expected
    assert sorted(summary.left_out) == sorted(MISSING)
    assert summary.l2_files == 3 * 48 - 1 and summary.binance_zips == summary.checksum_files == 3 * 2 - 1
    assert sorted(str(p.relative_to(root)) for p in summary.paths) == sorted(expected)
    with pytest.raises(ValueError, match="must name an hour"):
        write_demo_archive(root, ["BTC"], START, 1, LISTINGS, FAST, missing=[("BTC", "2024-12-31 05")])


def test_same_seed_same_bytes_other_seed_other_bytes(archive, tmp_path):
    root, _ = archive
    again = write_demo_archive(tmp_path / "a", ["BTC"], START, 2, LISTINGS, FAST, seed=SEED)
    rerun = _tree(tmp_path / "a")
    assert again.l2_files == 48
    original = {name: blob for name, blob in _tree(root).items() if "BTC" in name}
    # Same (seed, coin, window) -> identical bytes, whatever else was written or left out alongside it.
    assert {name: rerun[name] for name in original} == original
    write_demo_archive(tmp_path / "a", ["BTC"], START, 2, LISTINGS, FAST, seed=SEED)
    assert _tree(tmp_path / "a") == rerun, "rerun in place must be idempotent"
    write_demo_archive(tmp_path / "b", ["BTC"], START, 1, LISTINGS, FAST, seed=SEED + 1)
    other = _tree(tmp_path / "b")
    assert len(other) == 24 + 2
    assert all(other[name] != rerun[name] for name in other if not name.endswith(".CHECKSUM"))


# ----------------------------------------------------------------------------------------------------------------
# The price process and the planted drift, as market.py documents them


def _write_hours(root: Path, coin: str, start: datetime, hours: int, params: DemoMarketParams, seed: int) -> list[Path]:
    book = simulate_book(coin, start, start + timedelta(hours=hours), params, seed)
    paths = []
    for hour, lines in iter_l2_hours(book, params, seed):
        paths.append(_l2_path(root, coin, hour))
        write_l2_hour(paths[-1], lines)
    return paths


@pytest.fixture(scope="module")
def week():
    """A week of BTC top of book at strength 0 and at 1 (same seed: the same snapshots, spreads and queues)."""
    start = datetime(2026, 2, 1)
    return {s: simulate_book("BTC", start, start + timedelta(days=7), DemoMarketParams(signal_strength=s), 4)
            for s in (0.0, 1.0)}


def _steps_bps(book) -> np.ndarray:
    """Mid steps in bps of the window's first price (the units market.py sets drift and volatility in)."""
    return np.diff(book.mid) / book.mid[0] * 1e4


def test_volatility_and_cadence_are_the_parameters(week):
    book = week[0.0]
    params = DemoMarketParams()
    hours = (book.exchange_ms[-1] - book.exchange_ms[0]) / 3.6e6
    realized = np.sqrt(np.sum(_steps_bps(book) ** 2) / hours)
    assert realized == pytest.approx(params.volatility_bps_per_hour, rel=0.05)
    assert np.mean(np.diff(book.exchange_ms)) / 1e3 == pytest.approx(params.snapshot_gap_s, rel=0.02)
    assert book.identical.mean() == pytest.approx(params.identical_book_prob, abs=0.005)
    assert np.all(book.ask_px > book.bid_px)


def test_mid_steps_are_symmetric_at_strength_zero(week):
    """Given the state before it (spread, queues, the last step), a step of the mid is as likely up as down."""
    book = week[0.0]
    steps = _steps_bps(book)
    spread = (book.ask_px - book.bid_px)[:-1] // book.tick_units
    imbalance = book.imbalance[:-1]
    moved = steps != 0
    for name, condition in [("one-tick spread", spread == 1), ("wide spread", spread >= 4),
                            ("bid-heavy", imbalance > 0.9), ("ask-heavy", imbalance < -0.9),
                            ("after an up step", np.concatenate([[False], steps[:-1] > 0])),
                            ("after a down step", np.concatenate([[False], steps[:-1] < 0]))]:
        ups = np.sum(moved & condition & (steps > 0))
        count = np.sum(moved & condition)
        assert abs(ups / count - 0.5) < 3.5 * 0.5 / np.sqrt(count), (name, ups / count, count)


def test_planted_drift_is_the_documented_rate(week):
    """Per snapshot, E[d log mid] = planted_drift (bps/min) x dt: the regression slope of the realised step on
    drift x dt is 1; the drift is strength x (signal_bps_per_min x I + pressure_bps_per_min x P)."""
    book, params = week[1.0], DemoMarketParams()
    dt_min = np.diff(book.exchange_ms) / 60_000
    expected = book.planted_drift[:-1] * dt_min
    steps = _steps_bps(book)
    slope = float(expected @ steps / (expected @ expected))
    error = float(np.std(steps - slope * expected) / np.sqrt(expected @ expected))
    assert abs(slope - 1) < max(4 * error, 0.03), (slope, error)
    start_ms = epoch_ms(datetime(2026, 2, 1)) - _LEAD_MS
    pressure = simulate_latent("BTC", start_ms, epoch_ms(datetime(2026, 2, 8)), params.pressure_timescale_s, 1.0, 4,
                               PRESSURE_STREAM).at(book.exchange_ms)
    documented = 1.0 * (params.signal_bps_per_min * book.latent_imbalance + params.pressure_bps_per_min * pressure)
    # Clipped only where every mid step would have to go one way (~9.5 bps/min for BTC at these defaults).
    unclipped = np.abs(documented) < 9.0
    assert unclipped.mean() > 0.85 and np.allclose(book.planted_drift[unclipped], documented[unclipped])
    assert np.all(np.abs(book.planted_drift) <= np.abs(documented) + 1e-9)
    assert np.all(week[0.0].planted_drift == 0)


def test_arrays_are_what_the_files_say(tmp_path):
    """The top of book parsed back from the written hours is the simulated one, and some hours open, as in the
    archive, with a snapshot the exchange stamped before the hour."""
    start = datetime(2026, 2, 1)
    params = DemoMarketParams(signal_strength=1.0)
    book = simulate_book("BTC", start, start + timedelta(hours=3), params, 4)
    parsed = _parse_l2(_write_hours(tmp_path, "BTC", start, 3, params, 4))
    assert np.array_equal(parsed["inner_ms"], book.exchange_ms) and np.array_equal(parsed["outer_ns"], book.received_ns)
    assert np.allclose(parsed["mid"], book.mid) and np.allclose(parsed["imbalance"], book.imbalance)
    hours = np.arange(book.received_ns[0] // 3_600_000_000_000 + 1, book.received_ns[-1] // 3_600_000_000_000 + 1)
    first = np.searchsorted(book.received_ns, hours * 3_600_000_000_000)
    assert np.any(book.exchange_ms[first] < hours * 3_600_000)


# ----------------------------------------------------------------------------------------------------------------
# The pipeline reads what the demo writes


def test_pipeline_parsers_accept_demo_files(archive):
    from hyperliquid_assets.formats.binance_trades import parse_trades_zip, verify_checksum
    from hyperliquid_assets.formats.hyperliquid_l2 import parse_l2_book

    root, _ = archive
    hour = _hours(START)[30]
    path = _l2_path(root, "ETH", hour)
    table = parse_l2_book(path.read_bytes(), str(path), coin="ETH")
    assert table.height == len(_lines(path))
    for coin in LISTINGS:
        zip_path = _zip_path(root, coin, START)
        blob = zip_path.read_bytes()
        verify_checksum(blob, (zip_path.parent / (zip_path.name + ".CHECKSUM")).read_bytes(), str(zip_path))
        trades = parse_trades_zip(blob, LISTINGS[coin], str(zip_path))
        assert trades.height == len(_member(zip_path).splitlines()) - (coin != "BTC")
        assert (trades["qty"] > 0).all() and trades["time"].is_sorted()
