"""Fuzzing both parsers with hypothesis: random mutations of real lines and rows.

Every outcome must be either a table equal to what an independent reference reading of the mutated bytes gives
(written here from the documented rules, in plain Python: json, float(), int(), datetime), or CorruptObjectError
naming the file: never another exception, a hang, a wrong value, or a partial file (`hl-assets convert` runs on
the same inputs and must leave the output directory holding the whole table or nothing).

The L2 reference is exact: the parser must accept precisely what the reference accepts. The Binance reference has
two levels: rows in Binance's own spelling must be accepted; rows that Python's int()/float() still read may be
rejected, but if accepted must give the same values; anything else must be rejected.

CI runs a modest, derandomized budget (no example database, no deadline). A longer campaign:
    HL_FUZZ_EXAMPLES=20000 HL_FUZZ_RANDOM=1 .venv/bin/python -m pytest hyperliquid_assets_tests/test_parser_fuzz.py
(HL_FUZZ_RANDOM=1 draws new examples on every run instead of the fixed derandomized sequence.)
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import re
import signal
import struct
import zipfile
from contextlib import contextmanager
from datetime import datetime, timedelta, timezone
from pathlib import Path

import lz4.frame
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hyperliquid_assets.cli import main as cli_main
from hyperliquid_assets.formats import hyperliquid_l2
from hyperliquid_assets.formats.binance_trades import parse_trades_csv, parse_trades_zip, verify_checksum
from hyperliquid_assets.formats.errors import CorruptObjectError
from hyperliquid_assets.formats.hyperliquid_l2 import parse_l2_book
from hyperliquid_assets.settings import BinanceListing
from hyperliquid_assets_tests.conftest import REAL_COINM_DAY, REAL_DATA, REAL_L2_HOUR, REAL_SPOT_FIRST5

EXAMPLES = int(os.environ.get("HL_FUZZ_EXAMPLES", "120"))
FUZZ = settings(
    max_examples=EXAMPLES,
    derandomize=os.environ.get("HL_FUZZ_RANDOM") != "1",
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)
L2_SOURCE = "s3://hyperliquid-archive/market_data/20240101/12/l2Book/BTC.lz4"
COINM = BinanceListing("BTCUSD_PERP", "coinm", "aggTrades", contract_size=100.0)
SPOT = BinanceListing("BTCUSDT", "spot", "trades")

pytestmark = pytest.mark.skipif(not (REAL_DATA / REAL_L2_HOUR).exists() and os.environ.get("HL_REQUIRE_REAL_DATA") != "1",
                                reason=f"real upstream samples not found at {REAL_DATA}")


def _real(path: str) -> bytes:
    return (REAL_DATA / path).read_bytes()


def _real_l2_lines() -> list[bytes]:
    return lz4.frame.decompress(_real(REAL_L2_HOUR)).split(b"\n")[:-1] if (REAL_DATA / REAL_L2_HOUR).exists() else []


def _real_coinm_csv() -> bytes:
    if not (REAL_DATA / REAL_COINM_DAY).exists():
        return b""
    with zipfile.ZipFile(REAL_DATA / REAL_COINM_DAY) as archive:
        return archive.read(archive.namelist()[0])


L2_LINES = _real_l2_lines()
COINM_CSV = _real_coinm_csv()
COINM_LINES = COINM_CSV.split(b"\n")[:-1]
SPOT_LINES = _real(REAL_SPOT_FIRST5).split(b"\n")[:-1] if (REAL_DATA / REAL_SPOT_FIRST5).exists() else []


@contextmanager
def no_hang(seconds: int = 60):
    """A parser that loops forever fails the test instead of stalling CI."""
    def fail(*_):
        raise TimeoutError(f"parser ran longer than {seconds} s")

    previous = signal.signal(signal.SIGALRM, fail)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


# ---- the L2 reference: the rules of hyperliquid_l2's docstring, in plain Python ----

class Invalid(Exception):
    pass


_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")
_WORD = re.compile(r"[+-]?(?:nan|inf|infinity)", re.IGNORECASE)
_TIME = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})T([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,9}))?")
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _exact_keys(value: object, keys: set[str]) -> dict:
    if not isinstance(value, dict) or set(value) != keys:
        raise Invalid(f"expected an object with keys {keys}")
    return value


def _integer(value: object, bits: int) -> int:
    if type(value) is not int or not -(2 ** (bits - 1)) <= value < 2 ** (bits - 1):
        raise Invalid("not an integer in range")
    return value


def _number_text(value: object) -> float:
    if not isinstance(value, str) or not (_JSON_NUMBER.fullmatch(value) or _WORD.fullmatch(value)):
        raise Invalid("not a number text")
    return float(value)


def _no_lone_surrogates(value: object) -> None:
    if isinstance(value, str):
        value.encode("utf-8")  # raises on a lone surrogate, which strict JSON decoders refuse
    elif isinstance(value, dict):
        for key, item in value.items():
            _no_lone_surrogates(key)
            _no_lone_surrogates(item)
    elif isinstance(value, list):
        for item in value:
            _no_lone_surrogates(item)


def _reject_constant(name: str) -> None:
    raise Invalid(f"{name} is not JSON")


def reference_l2(data: bytes, coin: str | None) -> list[tuple]:
    """Rows (received ns, exchange ms, ver_num, bid px, sz, n, ask px, sz, n) or Invalid."""
    if not data.strip():
        raise Invalid("no lines")
    lines = data.split(b"\n")
    if len(lines) > 1 and lines[-1] == b"":
        lines.pop()
    rows, coins = [], set()
    for line in lines:
        try:
            parsed = json.loads(line.decode("utf-8"), parse_constant=_reject_constant)
            _no_lone_surrogates(parsed)
        except (UnicodeError, ValueError) as exc:
            raise Invalid(f"not strict JSON: {exc}") from None
        top = _exact_keys(parsed, {"time", "ver_num", "raw"})
        raw = _exact_keys(top["raw"], {"channel", "data"})
        payload = _exact_keys(raw["data"], {"coin", "time", "levels"})
        if raw["channel"] != "l2Book" or not isinstance(payload["coin"], str) or not isinstance(top["time"], str):
            raise Invalid("channel, coin or time")
        match = _TIME.fullmatch(top["time"])
        if not match:
            raise Invalid("time text")
        try:
            moment = datetime(*(int(g) for g in match.groups()[:6]), tzinfo=timezone.utc)
        except ValueError:
            raise Invalid("calendar") from None
        received = (moment - _EPOCH) // timedelta(seconds=1) * 10**9 + int((match.group(7) or "").ljust(9, "0"))
        _integer(received, 64)
        levels = payload["levels"]
        if not isinstance(levels, list) or len(levels) != 2 or not all(isinstance(side, list) for side in levels):
            raise Invalid("levels")
        sides = []
        for side in levels:
            entries = [_exact_keys(level, {"px", "sz", "n"}) for level in side]
            sides += [[_number_text(e["px"]) for e in entries], [_number_text(e["sz"]) for e in entries],
                      [_integer(e["n"], 32) for e in entries]]
        rows.append((received, _integer(payload["time"], 64), _integer(top["ver_num"], 64), *sides))
        coins.add(payload["coin"])
    if len(coins) != 1 or (coin is not None and coins != {coin}):
        raise Invalid("coin")
    return rows


def _same_float(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or struct.pack("<d", a) == struct.pack("<d", b)


def _same(a: object, b: object) -> bool:
    """Equal values, NaN equal to NaN, and -0.0 told apart from 0.0 (Parquet keeps the sign)."""
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, float) or isinstance(b, float):
        return isinstance(a, float) and isinstance(b, float) and _same_float(a, b)
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    return a == b and type(a) is type(b)


def _book_rows(book: pl.DataFrame) -> list[tuple]:
    columns = [book["received_time"].dt.epoch("ns").to_list(), book["exchange_time"].dt.epoch("ms").to_list(),
               book["ver_num"].to_list()] + [book[f"{s}_{f}"].to_list() for s in ("bid", "ask") for f in ("px", "sz", "n")]
    return list(zip(*columns))


def check_l2(data: bytes, coin: str | None, tmp_path: Path, run_cli: bool) -> str:
    """Both parsers and the CLI against the reference; returns 'valid' or 'invalid' (for the tests' statistics)."""
    try:
        expected = reference_l2(data, coin)
    except Invalid:
        expected = None
    blob = lz4.frame.compress(data) if data else b""
    outcomes = {}
    with no_hang():
        for name, parse in (("fast path", lambda: parse_l2_book(blob, L2_SOURCE, coin)),
                            ("general", lambda: hyperliquid_l2._parse_general(data, L2_SOURCE, coin))):
            if name == "general" and not data.strip():
                continue  # decompress_lz4 rejects these before any parser sees them
            try:
                outcomes[name] = _book_rows(parse())
            except CorruptObjectError as exc:
                assert str(exc).startswith(f"{L2_SOURCE}: "), str(exc)
                outcomes[name] = None
    for name, rows in outcomes.items():
        if expected is None:
            assert rows is None, f"{name} accepted what the reference rejects: {data[:300]!r}"
        else:
            assert rows is not None, f"{name} rejected valid data: {data[:300]!r}"
            assert _same(rows, expected), f"{name} changed values: {data[:300]!r}"
    if run_cli:
        _check_cli(["l2"], "BTC.lz4", blob, expected is not None, tmp_path, coin)
    return "valid" if expected is not None else "invalid"


def _check_cli(table: list[str], name: str, blob: bytes, valid: bool, tmp_path: Path, coin: str | None,
               checksum: bytes | None = None, parsed: pl.DataFrame | None = None) -> None:
    """`hl-assets convert` on the same bytes: a whole table (equal to the parser's) or nothing, no temp file."""
    work = tmp_path / f"cli-{hashlib.sha256(blob).hexdigest()[:16]}"
    work.mkdir(exist_ok=True)
    source, out = work / name, work / "out" / "table.parquet"
    source.write_bytes(blob)
    if checksum is not None:
        (work / (name + ".CHECKSUM")).write_bytes(checksum)
    argv = ["convert", *table, str(source), str(out), "--no-checks"] + (["--coin", coin] if coin else [])
    with no_hang():
        status = cli_main(argv)
    leftovers = [p.name for p in out.parent.glob("*") if p.name != "table.parquet"] if out.parent.exists() else []
    assert not leftovers, f"temp files left behind: {leftovers}"
    assert source.read_bytes() == blob
    if valid:
        assert status == 0 and out.exists()
        if parsed is not None:
            assert pl.read_parquet(out).equals(parsed)
    else:
        assert status == 1 and not out.exists()


# ---- mutations ----

def _mutate_bytes(draw, data: bytes) -> bytes:
    kind = draw(st.sampled_from(["truncate", "flip", "delete", "duplicate", "insert"]))
    if not data:
        return draw(st.binary(max_size=20))
    at = draw(st.integers(0, len(data) - 1))
    if kind == "truncate":
        return data[:at]
    if kind == "flip":
        return data[:at] + bytes([draw(st.integers(0, 255))]) + data[at + 1 :]
    if kind == "delete":
        return data[:at] + data[at + draw(st.integers(1, 40)) :]
    if kind == "duplicate":
        piece = data[at : at + draw(st.integers(1, 80))]
        return data[:at] + piece + data[at:]
    return data[:at] + draw(st.sampled_from([b'"', b",", b"{", b"}", b"[", b"]", b"\\", b"\n", b"\r", b" ", b"\x00",
                                             b"\xff", b"\xc3\xa9", b"\xed\xa0\x80", b"\xef\xbb\xbf", b"e", b"-",
                                             b"1", b"."])) + data[at:]


EXTREME_NUMBERS = ["1e308", "1e309", "-1e309", "-0", "-0.0", "0", "NaN", "nan", "-inf", "inf", "Infinity", "INF",
                   "4.9e-324", "2.5e-324", "1e-400", "123456789012345678901234567890.5", "0.1e22", "9007199254740993",
                   "1.7976931348623157e308", "1.7976931348623159e308", "00.1", "+1", ".5", "5.", "1e", "0x10", "1_0",
                   " 1", "1 ", "", "\u0661", "42727.0", "0.000000000000000000000000001", "1E+2", "1e-2"]
EXTREME_INTS = [0, -0, 1, -1, 2**31 - 1, 2**31, -(2**31), -(2**31) - 1, 2**63 - 1, 2**63, -(2**63), -(2**63) - 1,
                10**30, True, False, None, 1.0, 1.5, "1", [], {}]
TIMES = ["2024-01-01T12:00:01", "2024-01-01T12:00:01.1", "2024-01-01T12:00:01.123456789", "2024-01-01T12:00:01.",
         "2024-01-01T12:00:01.1234567891", "2024-02-29T00:00:00.5", "2023-02-29T00:00:00.5", "2024-13-01T00:00:00.5",
         "2024-01-01T24:00:00.5", "2024-01-01T23:59:60.5", "1969-12-31T23:59:59.999999999", "2262-04-11T23:47:16.854775807",
         "2262-04-11T23:47:16.854775808", "0001-01-01T00:00:00.0", "2024-01-01 12:00:01.5", "2024-01-01T12:00:01.5Z",
         "２０２４-01-01T12:00:01.5", "2024-1-01T12:00:01.5", ""]
COINS = ["BTC", "ETH", "B\u00e9", "\u20bf", "BTC\u0000", "", "x" * 70, "\\u0042TC", "BTC "]


@st.composite
def l2_case(draw):
    start = draw(st.integers(0, len(L2_LINES) - 3))
    lines = L2_LINES[start : start + draw(st.integers(1, 3))]
    mutation = draw(st.sampled_from(["none", "bytes", "bytes", "field", "field", "field", "reformat", "huge"]))
    if mutation == "bytes":
        data = b"\n".join(lines) + b"\n"
        for _ in range(draw(st.integers(1, 3))):
            data = _mutate_bytes(draw, data)
        return data
    if mutation == "none":
        return b"\n".join(lines) + draw(st.sampled_from([b"\n", b""]))
    objects = [json.loads(line) for line in lines]
    target = objects[draw(st.integers(0, len(objects) - 1))]
    data_obj = target["raw"]["data"]
    if mutation == "field":
        what = draw(st.sampled_from(["px", "sz", "n", "ver_num", "data.time", "time", "coin", "channel", "drop",
                                     "extra", "sides", "empty side", "swap type"]))
        level = data_obj["levels"][draw(st.integers(0, 1))][draw(st.integers(0, 19))] if all(
            len(s) == 20 for s in data_obj["levels"]) else {"px": "1", "sz": "1", "n": 1}
        if what in ("px", "sz"):
            level[what] = draw(st.sampled_from(EXTREME_NUMBERS))
        elif what == "n":
            level["n"] = draw(st.sampled_from(EXTREME_INTS))
        elif what == "ver_num":
            target["ver_num"] = draw(st.sampled_from(EXTREME_INTS))
        elif what == "data.time":
            data_obj["time"] = draw(st.sampled_from(EXTREME_INTS))
        elif what == "time":
            target["time"] = draw(st.sampled_from(TIMES))
        elif what == "coin":
            data_obj["coin"] = draw(st.sampled_from(COINS))
        elif what == "channel":
            target["raw"]["channel"] = draw(st.sampled_from(["l2book", "trades", "", 5]))
        elif what == "drop":
            holder, key = draw(st.sampled_from([(target, "time"), (target, "raw"), (data_obj, "coin"),
                                                (data_obj, "levels"), (level, "px"), (level, "n")]))
            holder.pop(key, None)
        elif what == "extra":
            draw(st.sampled_from([target, data_obj, level]))["extra"] = 1
        elif what == "sides":
            data_obj["levels"] = draw(st.sampled_from([data_obj["levels"][:1], data_obj["levels"] * 2, [], None]))
        elif what == "empty side":
            data_obj["levels"][draw(st.integers(0, 1))] = []
        else:
            key = draw(st.sampled_from(["px", "sz", "n"]))
            level[key] = draw(st.sampled_from([1.5, 42727, "42727.0", None, True, [], {}, "BTC"]))
        separators = (",", ":")
    elif mutation == "reformat":
        separators = draw(st.sampled_from([(", ", ": "), (",", ":"), (" ,", " :")]))
        if draw(st.booleans()):
            target["raw"] = dict(reversed(list(target["raw"].items())))
    else:  # huge: a very long line
        side = draw(st.integers(0, 1))
        data_obj["levels"][side] = data_obj["levels"][side] * draw(st.sampled_from([50, 500, 5000]))
        separators = (",", ":")
    ensure_ascii = draw(st.booleans())
    text = "\n".join(json.dumps(o, separators=separators, ensure_ascii=ensure_ascii) for o in objects) + "\n"
    if mutation == "field" and draw(st.integers(0, 4)) == 0:  # a duplicated key, which json.dumps cannot write
        text = text.replace('{"px":', '{"px":"1","px":', 1)
    return text.encode("utf-8", errors="surrogatepass")


@FUZZ
@given(data=l2_case(), coin=st.sampled_from([None, "BTC", "ETH"]), run_cli=st.integers(0, 5))
def test_l2_parsers_agree_with_the_reference_on_mutated_real_lines(data, coin, run_cli, tmp_path_factory):
    check_l2(data, coin, tmp_path_factory.mktemp("l2"), run_cli == 0)


def test_l2_fuzz_cases_cover_valid_and_invalid_outcomes(tmp_path):
    """The strategy must reach both outcomes, else the fuzz test above proves little."""
    outcomes = []

    @settings(FUZZ, max_examples=60)
    @given(data=l2_case())
    def collect(data):
        outcomes.append(check_l2(data, None, tmp_path, False))

    collect()
    assert outcomes.count("valid") >= 5 and outcomes.count("invalid") >= 5, (len(outcomes), outcomes)


def test_l2_known_edge_cases_match_the_reference(tmp_path):
    """Cases from the rules, each through both parsers and the reference."""
    base = L2_LINES[0]
    cases = [
        base.replace(b'"px":"42727.0"', b'"px":"NaN"'),
        base.replace(b'"sz":"0.02265"', b'"sz":"-inf"'),
        base.replace(b'"px":"42727.0"', b'"px":"1e400"'),
        base.replace(b'"px":"42727.0"', b'"px":"4\\u0032727.0"'),  # an escape: valid, same value
        base.replace(b'"coin":"BTC"', b'"coin":"\\u0042TC"'),
        base.replace(b'.138942031"', b'"'),  # no fraction
        base.replace(b'.138942031"', b'.1"'),
        base.replace(b'"n":1}', b'"n":2147483648}', 1),
        base.replace(b'"n":1}', b'"n":-0}', 1),
        base.replace(b'"ver_num":1', b'"ver_num":9223372036854775808'),
        base.replace(b'{"time"', b' {"time"'),
        base + b"\r",
        base + b"\n\n" + base,
        b"\xef\xbb\xbf" + base,
        base.replace(b"BTC", b"BT\xff"),
        base.replace(b'"levels":[[', b'"levels":[[],[', 1).replace(b'],[{', b',{', 1),
        base.replace(b'"px":"42727.0"', b'"px":"' + b"1" * 600 + b'.5"'),
    ]
    for data in cases:
        check_l2(data, "BTC", tmp_path, run_cli=False)
    check_l2(cases[4], "BTC", tmp_path, run_cli=True)


# ---- the Binance reference ----

INT_TEXT = re.compile(r"-?[0-9]+")
FLOAT_TEXT = re.compile(r"-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|(?i:[+-]?(?:nan|inf|infinity))")
KINDS = {"trade_id": "int", "first_trade_id": "int", "last_trade_id": "int", "time": "int", "price": "float",
         "qty": "float", "quote_qty": "float", "base_qty": "float", "is_buyer_maker": "bool", "is_best_match": "bool"}
SYNONYMS = {"id": "trade_id", "agg_trade_id": "trade_id", "quantity": "qty", "transact_time": "time"}
# Column order of files without a header row, from the binance-public-data README (after the synonyms above).
POSITIONAL = {
    ("spot", "trades"): ["trade_id", "price", "qty", "quote_qty", "time", "is_buyer_maker", "is_best_match"],
    ("coinm", "aggTrades"): ["trade_id", "price", "qty", "first_trade_id", "last_trade_id", "time", "is_buyer_maker"],
}


def _value(text: str, kind: str) -> tuple[object, bool]:
    """(value, in Binance's own spelling) or Invalid (not even Python's int()/float() read it)."""
    try:
        if kind == "int":
            return int(text), bool(INT_TEXT.fullmatch(text))
        if kind == "float":
            return float(text), bool(FLOAT_TEXT.fullmatch(text))
        if kind == "bool":
            if text.lower() not in ("true", "false"):
                raise ValueError(text)
            return text.lower() == "true", True
        return text, True
    except ValueError:
        raise Invalid(f"{text!r} is not {kind}") from None


def _ieee_divide(a: float, b: float) -> float:
    """a / b as IEEE 754 (and polars) gives it: a zero divisor makes an infinity or NaN, not an exception."""
    try:
        return a / b
    except ZeroDivisionError:
        return math.nan if a == 0 or math.isnan(a) else math.copysign(math.inf, a) * math.copysign(1.0, b)


def reference_trades(csv_bytes: bytes, listing: BinanceListing) -> tuple[dict[str, list], bool]:
    """Columns in the clean table's units and whether every value is in Binance's spelling, or Invalid."""
    if csv_bytes.count(b"\r") != csv_bytes.count(b"\r\n"):
        raise Invalid("a bare carriage return")
    try:
        text = csv_bytes.decode("utf-8")
    except UnicodeDecodeError:
        raise Invalid("not UTF-8") from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    lines = [line[:-1] if line.endswith("\r") else line for line in lines]
    if not lines or not text.strip():
        raise Invalid("empty")
    if lines[0][:1].isdigit() and lines[0][:1].isascii():
        names, rows = POSITIONAL[(listing.market, listing.kind)], lines
    else:
        names, rows = [SYNONYMS.get(n, n) for n in lines[0].strip().split(",")], lines[1:]
    if len(set(names)) != len(names) or {"trade_id", "price", "qty", "time", "is_buyer_maker"} - set(names):
        raise Invalid("columns")
    if not rows:
        raise Invalid("no rows")
    columns: dict[str, list] = {name: [] for name in names}
    canonical = True
    for row in rows:
        fields = row.split(",")
        if len(fields) != len(names) or any(f == "" for f in fields):
            raise Invalid("row shape")
        for name, field in zip(names, fields):
            value, plain = _value(field, KINDS.get(name, "text"))
            columns[name].append(value)
            canonical &= plain
    ints = [name for name in names if KINDS.get(name) == "int"]
    if any(not -(2**63) <= v < 2**63 for name in ints for v in columns[name]) or min(columns["time"]) < 0:
        raise Invalid("int range")
    out = {"trade_id": columns["trade_id"], "price": columns["price"], "is_buyer_maker": columns["is_buyer_maker"],
           "time": [t // 1000 if t >= 10**17 else t if t >= 10**14 else t * 1000 for t in columns["time"]]}
    if listing.market == "coinm":
        notional = [q * listing.contract_size for q in columns["qty"]]
        out["quote_qty"] = notional
        out["qty"] = columns["base_qty"] if "base_qty" in columns else [_ieee_divide(n, p) for n, p in zip(notional, columns["price"])]
    else:
        out["qty"] = columns["qty"]
        out["quote_qty"] = columns.get("quote_qty") or [p * q for p, q in zip(columns["price"], columns["qty"])]
    return out, canonical


def _trade_columns(trades: pl.DataFrame) -> dict[str, list]:
    return {"trade_id": trades["trade_id"].to_list(), "price": trades["price"].to_list(),
            "is_buyer_maker": trades["is_buyer_maker"].to_list(), "time": trades["time"].dt.epoch("us").to_list(),
            "qty": trades["qty"].to_list(), "quote_qty": trades["quote_qty"].to_list()}


def _zip_csv(name: str, text: bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(zipfile.ZipInfo(name.replace(".zip", ".csv"), (2026, 5, 9, 6, 13, 0)), text,
                         zipfile.ZIP_DEFLATED)
    return buffer.getvalue()


def check_trades(csv_bytes: bytes, listing: BinanceListing, name: str, tmp_path: Path, run_cli: bool,
                 chunk_bytes: int) -> str:
    """The parser (and `hl-assets convert trades`) on the CSV zipped with a matching CHECKSUM, against the reference."""
    try:
        expected, canonical = reference_trades(csv_bytes, listing)
    except Invalid:
        expected, canonical = None, False
    blob = _zip_csv(name, csv_bytes)
    with no_hang():
        try:
            trades = parse_trades_zip(blob, listing, name, chunk_bytes=chunk_bytes)
        except CorruptObjectError as exc:
            assert str(exc).startswith(f"{name}: "), str(exc)
            trades = None
    if expected is None:
        assert trades is None, f"accepted what the reference rejects: {csv_bytes[:300]!r}"
    elif trades is None:
        assert not canonical, f"rejected rows in Binance's own spelling: {csv_bytes[:300]!r}"
    else:
        assert _same(_trade_columns(trades), expected), f"changed values: {csv_bytes[:300]!r}"
    if run_cli:
        checksum = f"{hashlib.sha256(blob).hexdigest()}  {name}\n".encode()
        _check_cli(["trades", "--market", listing.market], name, blob, trades is not None, tmp_path, None, checksum,
                   trades)
    return "valid" if trades is not None else "invalid"


def _mutate_rows(draw, lines: list[bytes]) -> bytes:
    lines = list(lines)
    mutation = draw(st.sampled_from(["none", "bytes", "field", "field", "drop field", "dup field", "row"]))
    if mutation in ("field", "drop field", "dup field"):
        index = draw(st.integers(0, len(lines) - 1))
        fields = lines[index].split(b",")
        at = draw(st.integers(0, len(fields) - 1))
        if mutation == "field":
            fields[at] = draw(st.sampled_from(
                [b"1e308", b"1e309", b"-0", b"NaN", b"inf", b"-Infinity", b"9223372036854775808", b"-1", b"+5", b"05",
                 b" 5", b"5 ", b"1_0", b"true", b"TRUE", b"1", b"0", b"", b"\xff", b"\xc3\xa9", b"\"5\"", b"1.5",
                 b"123456789012345678901234567890", b"9" * 400 + b".5", b"2.5e-324", b"0x1", b"\xd9\xa1"]))
        elif mutation == "drop field":
            del fields[at]
        else:
            fields.insert(at, fields[at])
        lines[index] = b",".join(fields)
    elif mutation == "row":
        index = draw(st.integers(0, len(lines) - 1))
        kind = draw(st.sampled_from(["drop", "duplicate", "blank", "swap"]))
        if kind == "drop":
            del lines[index]
        elif kind == "duplicate":
            lines.insert(index, lines[index])
        elif kind == "blank":
            lines.insert(index, b"")
        elif len(lines) > 1:
            lines[0], lines[-1] = lines[-1], lines[0]
    data = b"\n".join(lines) + draw(st.sampled_from([b"\n", b"", b"\r\n"]))
    if mutation == "bytes":
        for _ in range(draw(st.integers(1, 3))):
            data = _mutate_bytes(draw, data)
    return data


@st.composite
def coinm_case(draw):
    start = draw(st.integers(1, len(COINM_LINES) - 60))
    rows = COINM_LINES[start : start + draw(st.integers(1, 50))]
    header = [COINM_LINES[0]] if draw(st.integers(0, 9)) else []  # a headerless futures file, now and then
    return _mutate_rows(draw, header + rows)


@FUZZ
@given(csv_bytes=coinm_case(), run_cli=st.integers(0, 5), chunk=st.sampled_from([64, 4096, 16 << 20]))
def test_coinm_aggtrades_parser_agrees_with_the_reference(csv_bytes, run_cli, chunk, tmp_path_factory):
    check_trades(csv_bytes, COINM, "BTCUSD_PERP-aggTrades-2026-05-08.zip", tmp_path_factory.mktemp("cm"),
                 run_cli == 0, chunk)


@st.composite
def spot_case(draw):
    return _mutate_rows(draw, SPOT_LINES)


@FUZZ
@given(csv_bytes=spot_case(), run_cli=st.integers(0, 5))
def test_spot_first_rows_parser_agrees_with_the_reference(csv_bytes, run_cli, tmp_path_factory):
    check_trades(csv_bytes, SPOT, "BTCUSDT-trades-2024-01-01.zip", tmp_path_factory.mktemp("spot"), run_cli == 0,
                 16 << 20)


def test_trades_fuzz_cases_cover_valid_and_invalid_outcomes(tmp_path):
    outcomes = []

    @settings(FUZZ, max_examples=60)
    @given(csv_bytes=coinm_case())
    def collect(csv_bytes):
        outcomes.append(check_trades(csv_bytes, COINM, "BTCUSD_PERP-aggTrades-2026-05-08.zip", tmp_path, False, 4096))

    collect()
    assert outcomes.count("valid") >= 5 and outcomes.count("invalid") >= 5, (len(outcomes), outcomes)


@settings(FUZZ, max_examples=max(10, EXAMPLES // 4))  # each example parses the whole real day
@given(data=st.data())
def test_mutated_real_zip_is_the_source_table_or_corrupt(data, tmp_path_factory):
    """Byte damage to the real COIN-M zip itself (its CHECKSUM recomputed, so the parser is what stands between the
    damage and the table): the real day's table, or CorruptObjectError naming the file."""
    blob = bytearray(_real(REAL_COINM_DAY))
    name = Path(REAL_COINM_DAY).name
    region = data.draw(st.sampled_from(["local header", "deflate", "tail", "anywhere"]))
    bounds = {"local header": (0, 100), "deflate": (100, len(blob) - 200), "tail": (len(blob) - 200, len(blob)),
              "anywhere": (0, len(blob))}[region]
    for _ in range(data.draw(st.integers(1, 3))):
        at = data.draw(st.integers(bounds[0], bounds[1] - 1))
        blob[at] = data.draw(st.integers(0, 255))
    if data.draw(st.booleans()):
        blob = blob[: data.draw(st.integers(0, len(blob)))]
    blob = bytes(blob)
    checksum = f"{hashlib.sha256(blob).hexdigest()}  {name}"
    verify_checksum(blob, checksum, name)
    with no_hang():
        try:
            trades = parse_trades_zip(blob, COINM, name)
        except CorruptObjectError as exc:
            assert str(exc).startswith(f"{name}: ")
            return
    assert trades.equals(_original_coinm_day()), "a damaged zip gave a table that is not the real day's"


_original: list[pl.DataFrame] = []


def _original_coinm_day() -> pl.DataFrame:
    if not _original:
        _original.append(parse_trades_zip(_real(REAL_COINM_DAY), COINM, "x"))
    return _original[0]


def test_trades_known_edge_cases(tmp_path):
    header, rows = COINM_LINES[0], COINM_LINES[1:4]
    cases = [
        b"\n".join([header.replace(b"price", b"pr\xffice")] + rows) + b"\n",  # non-UTF-8 in the header
        b"\n".join([header.replace(b"price", b"pr\xc3\xa9ce")] + rows) + b"\n",
        b"\n".join([header] + rows),  # no final newline
        header,  # a header and nothing else, without a newline
        b"\n".join([header] + rows + [b"", rows[0]]) + b"\n",  # a blank line
        b"\n".join([header] + [rows[0].replace(b"false", b"true")]) + b"\n",
        b"\n".join([header] + [rows[0].replace(b",1778", b",-1778")]) + b"\n",  # a negative time
        b"\r\n".join([header] + rows) + b"\r\n",
        b"\n".join([header] + rows).replace(b"\n", b"\r", 1),
    ]
    for data in cases:
        check_trades(data, COINM, "BTCUSD_PERP-aggTrades-2026-05-08.zip", tmp_path, True, 4096)


def test_parse_trades_csv_names_the_file_on_non_utf8_header():
    with pytest.raises(CorruptObjectError, match="x.zip: header row is not UTF-8"):
        parse_trades_csv(b"agg_trade_id,pr\xffice\n1,2\n", COINM, "x.zip")
