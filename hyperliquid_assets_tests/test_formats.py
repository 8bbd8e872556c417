"""Format variants and bad inputs: each bad object fails with an error naming it and saying what is wrong."""

from __future__ import annotations

import hashlib
import io
import zipfile

import lz4.frame
import pytest

from hyperliquid_assets.formats.binance_trades import (
    inflate_single_member,
    iter_csv_chunks,
    parse_trades_csv,
    parse_trades_zip,
    verify_checksum,
)
from hyperliquid_assets.formats.errors import CorruptObjectError
from hyperliquid_assets.formats.hyperliquid_l2 import parse_l2_book
from hyperliquid_assets.settings import BinanceListing

LEVELS = '[[{"px":"100.5","sz":"1.25","n":2},{"px":"100.0","sz":"3","n":1}],[{"px":"101.0","sz":"0.5","n":1}]]'


def _line(outer: str, inner_ms: int, coin: str = "ETH", levels: str = LEVELS) -> str:
    return (f'{{"time":"{outer}","ver_num":1,"raw":{{"channel":"l2Book","data":{{"coin":"{coin}",'
            f'"time":{inner_ms},"levels":{levels}}}}}}}\n')


def _lz4(*lines: str) -> bytes:
    return lz4.frame.compress("".join(lines).encode())


def test_l2_object_of_several_frames_is_read_whole_and_trailing_junk_is_an_error():
    first, second = _line("2026-01-01T00:00:00.5", 1767225599900), _line("2026-01-01T00:00:01.5", 1767225600900)
    appended = _lz4(first) + _lz4(second)  # what `lz4 -c >> object` leaves
    assert parse_l2_book(appended, "ETH.lz4", coin="ETH").height == 2
    with pytest.raises(CorruptObjectError, match="bytes after LZ4 frame 1 are not a frame"):
        parse_l2_book(_lz4(first) + b"garbage", "ETH.lz4", coin="ETH")
    with pytest.raises(CorruptObjectError, match="not a complete LZ4 frame"):
        parse_l2_book(_lz4(first) + _lz4(second)[:-6], "ETH.lz4", coin="ETH")


def test_l2_keeps_every_fraction_digit_and_thin_sides():
    blob = _lz4(_line("2026-01-01T00:00:00.5", 1767225599900), _line("2026-01-01T00:00:01.123456789", 1767225600601))
    book = parse_l2_book(blob, "ETH.lz4", coin="ETH")
    assert book["received_time"].dt.epoch("ns").to_list() == [1767225600_500000000, 1767225601_123456789]
    assert book["exchange_time"].dt.epoch("ms").to_list() == [1767225599900, 1767225600601]
    assert book.row(0, named=True) | {"received_time": None, "exchange_time": None} == {
        "received_time": None, "exchange_time": None, "ver_num": 1,
        "bid_px": [100.5, 100.0], "bid_sz": [1.25, 3.0], "bid_n": [2, 1],
        "ask_px": [101.0], "ask_sz": [0.5], "ask_n": [1],
    }


@pytest.mark.parametrize(
    ("blob", "problem"),
    [
        (b"", "empty object"),
        (_lz4(_line("2026-01-01T00:00:00.5", 1))[:-7], "not a complete LZ4 frame"),
        (_lz4(_line("2026-01-01T00:00:00.5", 1), '{"time":"2026-01-01T00:00:01.5","ver_num":1,"raw":{\n'),
         "malformed snapshot line"),
        (_lz4(_line("2026-01-01T00:00:00.5", 1, coin="BTC")), "expected coin ETH"),
        (_lz4(_line("2026-01-01T00:00:00.5", 1, levels='[[{"px":"abc","sz":"1","n":1}],[]]')), "bid px is not a number"),
        (_lz4(_line("2026-01-01 junk", 1)), "outer time is not an ISO timestamp"),
        (_lz4(_line("2026-01-01T00:00:00.5", 1, levels="[[]]")), "exactly two sides"),
        (_lz4("\n"), "no snapshot lines"),
    ],
    ids=["empty", "truncated-lz4", "malformed-json", "wrong-coin", "bad-price", "bad-time", "one-side", "blank"],
)
def test_bad_l2_objects_fail_naming_the_object(blob, problem):
    with pytest.raises(CorruptObjectError, match=problem) as failure:
        parse_l2_book(blob, "s3://hyperliquid-archive/market_data/20260101/0/l2Book/ETH.lz4", coin="ETH")
    assert str(failure.value).startswith("s3://hyperliquid-archive/market_data/20260101/0/l2Book/ETH.lz4: ")


def _zip(name: str, text: str | bytes) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name.replace(".zip", ".csv"), text)
    return buffer.getvalue()


SPOT = BinanceListing("BTCUSDT", "spot", "trades")


def test_spot_trades_switch_from_ms_to_us_by_magnitude():
    ms = "1,100.0,2.0,200.0,1735689599999,True,True\n"  # 2024-12-31 23:59:59.999
    us = "2,100.5,1.0,100.5,1735689600000001,false,True\n"  # 2025-01-01 00:00:00.000001
    trades = parse_trades_csv((ms + us).encode(), SPOT, "BTCUSDT-trades.csv")
    assert trades["time"].dt.epoch("us").to_list() == [1735689599999000, 1735689600000001]
    assert trades["side"].to_list() == [-1, 1]
    assert trades["is_buyer_maker"].to_list() == [True, False]


def test_spot_aggtrades_without_header():
    text = "7,10.0,3.0,100,102,1704067200000,False,True\n"
    trades = parse_trades_csv(text.encode(), BinanceListing("ETHUSDT", "spot", "aggTrades"), "x.csv")
    row = trades.row(0, named=True)
    assert (row["trade_id"], row["first_trade_id"], row["last_trade_id"]) == (7, 100, 102)
    assert (row["qty"], row["quote_qty"], row["side"]) == (3.0, 30.0, 1)


def test_usdm_trades_with_header_and_lowercase_booleans():
    text = "id,price,qty,quote_qty,time,is_buyer_maker\n5,50000.0,0.01,500.0,1704067200123,true\n"
    trades = parse_trades_csv(text.encode(), BinanceListing("BTCUSDT", "usdm", "trades"), "x.csv")
    row = trades.row(0, named=True)
    assert (row["trade_id"], row["qty"], row["quote_qty"], row["side"]) == (5, 0.01, 500.0, -1)
    # Fields the file kind does not have are null: aggTrades' id range, spot's best-match flag.
    assert (row["first_trade_id"], row["last_trade_id"], row["is_best_match"]) == (None, None, None)


def test_usdm_trades_from_before_futures_files_had_a_header():
    text = "5,50000.0,0.01,500.0,1704067200123,false\n"
    trades = parse_trades_csv(text.encode(), BinanceListing("BTCUSDT", "usdm", "trades"), "x.csv")
    assert trades["side"].to_list() == [1]


def test_coinm_trades_take_base_qty_and_contract_notional():
    text = "id,price,qty,base_qty,time,is_buyer_maker\n9,50000.0,3,0.006,1704067200000,false\n"
    listing = BinanceListing("BTCUSD_PERP", "coinm", "trades", contract_size=100.0)
    row = parse_trades_csv(text.encode(), listing, "x.csv").row(0, named=True)
    assert (row["qty"], row["quote_qty"], row["side"]) == (0.006, 300.0, 1)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "empty CSV"),
        ("id,price,qty,quote_qty,time,is_buyer_maker\n", "header but no trades"),
        ("1,abc,2.0,200.0,1735689599999,True,True\n", "malformed trades CSV"),
        ("1,100.0,,200.0,1735689599999,True,True\n", "empty values"),
        ("id,price,time\n1,2.0,3\n", "missing"),
    ],
    ids=["empty", "header-only", "bad-number", "empty-field", "missing-columns"],
)
def test_bad_trade_files_fail_naming_the_file(text, problem):
    with pytest.raises(CorruptObjectError, match=problem) as failure:
        parse_trades_csv(text.encode(), SPOT, "BTCUSDT-trades-2024-01-01.zip")
    assert str(failure.value).startswith("BTCUSDT-trades-2024-01-01.zip: ")


def test_checksum_accepts_both_newline_forms_and_rejects_mismatch():
    name = "BTCUSDT-trades-2024-01-01.zip"
    blob = _zip(name, "1,100.0,2.0,200.0,1704067200000,True,True\n")
    digest = hashlib.sha256(blob).hexdigest()
    assert verify_checksum(blob, f"{digest}  {name}", f"data/{name}") == digest
    assert verify_checksum(blob, f"{digest}  {name}\n".encode(), f"data/{name}") == digest
    with pytest.raises(CorruptObjectError, match="does not match CHECKSUM"):
        verify_checksum(blob + b"x", f"{digest}  {name}", f"data/{name}")
    with pytest.raises(CorruptObjectError, match="CHECKSUM names other.zip"):
        verify_checksum(blob, f"{digest}  other.zip", f"data/{name}")
    with pytest.raises(CorruptObjectError, match="not a CHECKSUM file"):
        verify_checksum(blob, "<html>503</html>", f"data/{name}")


def test_zip_member_is_inflated_and_crc_checked():
    name = "BTCUSDT-trades-2024-01-01.zip"
    text = "".join(f"{i},100.0,2.0,200.0,{1704067200000 + i},True,True\n" for i in range(1000))
    blob = _zip(name, text)
    assert inflate_single_member(blob, name) == text.encode()
    assert parse_trades_zip(blob, SPOT, name).height == 1000
    with pytest.raises(CorruptObjectError, match="not a zip file"):
        inflate_single_member(blob[: len(blob) // 2], name)
    corrupted = bytearray(blob)
    corrupted[60] ^= 0xFF  # inside the deflate stream
    with pytest.raises(CorruptObjectError, match=name):
        inflate_single_member(bytes(corrupted), name)


@pytest.mark.parametrize("header", [True, False], ids=["futures-header", "no-header"])
def test_chunked_parse_equals_whole_file_parse(header):
    name = "BTCUSDT-trades-2024-01-01.zip"
    rows = "".join(f"{i},{100 + i % 7}.5,0.{i % 9 + 1},1.0,{1704067200000 + i},{'true' if i % 3 else 'false'}\n"
                   for i in range(20_000))
    text = ("id,price,qty,quote_qty,time,is_buyer_maker\n" if header else "") + rows
    listing = BinanceListing("BTCUSDT", "usdm", "trades")
    blob = _zip(name, text)
    chunks = list(iter_csv_chunks(blob, name, chunk_bytes=4096))
    assert len(chunks) > 20 and all(c.endswith(b"\n") for c in chunks)
    assert b"".join(chunks) == text.encode()
    chunked = parse_trades_zip(blob, listing, name, chunk_bytes=4096)
    assert chunked.equals(parse_trades_csv(text.encode(), listing, name))
    assert chunked.height == 20_000


# ---- issue 7, item 4: every decoding error is the project's corrupt-object error naming the file ----

def test_binance_zip_with_a_non_utf8_header_names_the_file():
    blob = _zip("BTCUSDT-trades-2024-01-01.zip", b"id,pr\xffce,qty,quote_qty,time,is_buyer_maker\n1,2.0,3.0,6.0,1,true\n")
    with pytest.raises(CorruptObjectError, match="header row is not UTF-8") as failure:
        parse_trades_zip(blob, BinanceListing("BTCUSDT", "usdm", "trades"), "data/BTCUSDT-trades-2024-01-01.zip")
    assert str(failure.value).startswith("data/BTCUSDT-trades-2024-01-01.zip: ")


def test_zip_whose_utf8_flagged_member_name_is_not_utf8_is_corrupt():
    blob = bytearray(_zip("BTCUSDT-trades-2024-01-01.zip", "1,100.0,2.0,200.0,1704067200000,True,True\n"))
    directory = blob.rfind(b"PK\x01\x02")
    blob[directory + 9] |= 0x08  # general-purpose flag bit 11 (bit 3 of its second byte): "names are UTF-8"
    name_at = directory + 46
    blob[name_at] = 0xFF
    with pytest.raises(CorruptObjectError, match="x.zip: not a zip file"):
        parse_trades_zip(bytes(blob), SPOT, "x.zip")


def test_zip_whose_directory_points_outside_the_file_is_corrupt():
    blob = bytearray(_zip("BTCUSDT-trades-2024-01-01.zip", "1,100.0,2.0,200.0,1704067200000,True,True\n"))
    directory = blob.rfind(b"PK\x01\x02")
    blob[directory + 42 : directory + 46] = (len(blob) - 10).to_bytes(4, "little")  # local header offset
    with pytest.raises(CorruptObjectError, match="x.zip: "):
        parse_trades_zip(bytes(blob), SPOT, "x.zip")


def test_l2_object_with_non_utf8_bytes_names_the_object():
    line = _line("2026-01-01T00:00:00.5", 1).encode()
    for good, bad in ((b'"ETH"', b'"ET\xff"'), (b'"100.5"', b'"100.5\xff"'), (b'00.5"', b'00.5\xc3"')):
        assert good in line
        with pytest.raises(CorruptObjectError, match="ETH.lz4: line 1: malformed snapshot line"):
            parse_l2_book(lz4.frame.compress(line.replace(good, bad, 1)), "ETH.lz4", coin="ETH")


# ---- rows that a chunked read must not lose or shift ----

def test_a_bad_row_at_the_start_of_a_later_chunk_is_an_error_not_a_skipped_header():
    rows = [f"{i},100.0,2.0,200.0,{1704067200000 + i},true\n" for i in range(2000)]
    rows[1000] = "x" + rows[1000]  # a damaged row, which a non-first chunk must not take for a header
    listing = BinanceListing("BTCUSDT", "usdm", "trades")
    text = "id,price,qty,quote_qty,time,is_buyer_maker\n" + "".join(rows)
    with pytest.raises(CorruptObjectError, match="malformed trades CSV"):
        parse_trades_zip(_zip("BTCUSDT-trades-2024-01-01.zip", text), listing, "x.zip", chunk_bytes=len(text) // 2)


def test_a_column_named_twice_is_an_error_not_a_shifted_table():
    text = "agg_trade_id,agg_trade_id,price,quantity,first_trade_id,last_trade_id,transact_time,is_buyer_maker\n" \
           "480537903,79972.8,542.0,1123474160,1123474164,1778198400020,false\n"
    listing = BinanceListing("BTCUSD_PERP", "coinm", "aggTrades", contract_size=100.0)
    with pytest.raises(CorruptObjectError, match="appear more than once"):
        parse_trades_csv(text.encode(), listing, "x.zip")


def test_a_short_row_or_blank_line_is_an_error():
    for text in ("1,100.0,2.0,200.0,1704067200000,True\n", "1,100.0,2.0,200.0,1704067200000,True,True\n\n"
                 "2,100.0,2.0,200.0,1704067200001,True,True\n"):
        with pytest.raises(CorruptObjectError, match="x.zip: (empty values|malformed trades CSV)"):
            parse_trades_csv(text.encode(), SPOT, "x.zip")


def test_quoted_values_and_bare_carriage_returns_are_errors_but_crlf_line_ends_are_read():
    row = "1,100.0,2.0,200.0,1704067200000,True,True"
    assert parse_trades_csv(f"{row}\r\n{row.replace('1,', '2,', 1)}\r\n".encode(), SPOT, "x.zip").height == 2
    with pytest.raises(CorruptObjectError, match="carriage return outside a CRLF line end"):
        parse_trades_csv(b"1,100.0\r,2.0,200.0,1704067200000,True,True\n", SPOT, "x.zip")
    for quoted in ('2,"100.0",2.0,200.0,1704067200000,True,True\n', '2,100.0,2.0,200.0,1704067200000,"True",True\n'):
        with pytest.raises(CorruptObjectError, match="malformed trades CSV"):
            parse_trades_csv(f"{row}\n{quoted}".encode(), SPOT, "x.zip")


# ---- the L2 rules: both parsers, one result ----

def test_l2_non_canonical_layout_gives_the_same_table_as_the_canonical_one(real_data):
    from hyperliquid_assets.formats import hyperliquid_l2
    from hyperliquid_assets_tests.conftest import REAL_L2_HOUR

    text = lz4.frame.decompress((real_data / REAL_L2_HOUR).read_bytes())
    canonical = parse_l2_book(lz4.frame.compress(text), "h", "BTC")
    assert hyperliquid_l2._parse_general(text, "h", "BTC").equals(canonical)
    import json

    spaced = "\n".join(json.dumps(json.loads(line), separators=(", ", ": ")) for line in text.splitlines())
    assert parse_l2_book(lz4.frame.compress(spaced.encode()), "h", "BTC").equals(canonical)


def test_l2_nan_infinities_and_extremes_are_transcribed_for_the_checks_to_judge():
    levels = ('[[{"px":"NaN","sz":"inf","n":1},{"px":"-0","sz":"1e400","n":2147483647}],'
              '[{"px":"1e-400","sz":"-Infinity","n":-2147483648}]]')
    book = parse_l2_book(_lz4(_line("2026-01-01T00:00:00", 1, levels=levels)), "ETH.lz4", coin="ETH")
    row = book.row(0, named=True)
    import math

    assert math.isnan(row["bid_px"][0]) and row["bid_sz"] == [math.inf, math.inf]
    assert math.copysign(1.0, row["bid_px"][1]) == -1.0 and row["ask_px"] == [0.0] and row["ask_sz"] == [-math.inf]
    assert row["bid_n"] == [1, 2147483647] and row["ask_n"] == [-2147483648]
    assert book["received_time"].dt.epoch("ns").to_list() == [1767225600_000000000]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (('"n":2}', '"n":2147483648}'), "bid n is out of the int32 range"),
        (('"px":"100.5"', '"px":"1_0"'), "bid px is not a number: '1_0'"),
        (('"px":"100.5"', '"px":100.5'), "malformed snapshot line"),
        (('"ver_num":1', '"ver_num":9223372036854775808'), "ver_num is out of the int64 range"),
        (('00:00:00.5', '00:00:60.5'), "outer time is not an ISO timestamp"),
        (('00:00:00.5', '00:00:00.1234567891'), "outer time is not an ISO timestamp"),
        (('"channel":"l2Book"', '"channel":"trades"'), "channel must be l2Book"),
        (('"n":2}', '"n":2,"q":1}'), "malformed snapshot line"),
    ],
)
def test_l2_values_outside_the_rules_fail_naming_the_line(change, problem):
    line = _line("2026-01-01T00:00:00.5", 1).replace(*change)
    with pytest.raises(CorruptObjectError, match=f"ETH.lz4: line 1: {problem}"):
        parse_l2_book(_lz4(line), "ETH.lz4", coin="ETH")


def test_the_compiled_scanner_is_built():
    """The install compiles formats/_l2_scan.c (optional, so an install without a compiler still works, 7-9x slower
    on L2 hours); CI must not lose it silently. HL_ALLOW_NO_SCANNER=1 accepts its absence."""
    import os

    from hyperliquid_assets.formats import hyperliquid_l2

    if os.environ.get("HL_ALLOW_NO_SCANNER") == "1":
        pytest.skip("HL_ALLOW_NO_SCANNER=1")
    assert hyperliquid_l2._l2_scan is not None, "the C scanner is not built: reinstall with a C compiler"


def test_without_the_compiled_scanner_the_general_parser_gives_the_same_table(real_data, monkeypatch, caplog):
    from hyperliquid_assets.formats import hyperliquid_l2
    from hyperliquid_assets_tests.conftest import REAL_L2_HOUR

    blob = (real_data / REAL_L2_HOUR).read_bytes()
    scanned = parse_l2_book(blob, "h", "BTC")
    monkeypatch.setattr(hyperliquid_l2, "_l2_scan", None)  # what an install without a C compiler has
    monkeypatch.setattr(hyperliquid_l2, "_warned_no_fast_path", False)
    with caplog.at_level("WARNING", logger=hyperliquid_l2.__name__):
        assert parse_l2_book(blob, "h", "BTC").equals(scanned)
    assert "not built" in caplog.text
