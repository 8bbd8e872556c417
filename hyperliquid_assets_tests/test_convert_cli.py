"""`hl-assets convert`: never destroys its input or a non-file, runs the assets' blocking checks, imports little."""

from __future__ import annotations

import hashlib
import io
import json
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import lz4.frame
import polars as pl
import pytest

from hyperliquid_assets.cli import main as cli_main
from hyperliquid_assets.formats.hyperliquid_l2 import parse_l2_book
from hyperliquid_assets_tests.conftest import REAL_L2_HOUR

LEVELS = '[[{"px":"100.5","sz":"1.25","n":2}],[{"px":"101.0","sz":"0.5","n":1}]]'
CROSSED = '[[{"px":"102.0","sz":"1.25","n":2}],[{"px":"101.0","sz":"0.5","n":1}]]'


def _hour(*level_sets: str) -> bytes:
    lines = [
        f'{{"time":"2026-01-01T00:00:{i:02d}.5","ver_num":1,"raw":{{"channel":"l2Book","data":{{"coin":"ETH",'
        f'"time":{1767225600000 + i * 1000},"levels":{levels}}}}}}}\n'
        for i, levels in enumerate(level_sets)
    ]
    return lz4.frame.compress("".join(lines).encode())


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def hour_file(tmp_path) -> Path:
    path = tmp_path / "ETH.lz4"
    path.write_bytes(_hour(LEVELS, LEVELS))
    return path


def _no_temp_files(directory: Path) -> None:
    assert not [p.name for p in directory.iterdir() if p.name.startswith(".") and ".tmp" in p.name]


@pytest.mark.parametrize("how", ["same path", "symlink to the input", "hard link to the input", "input via symlink"])
def test_refuses_to_write_over_its_input(hour_file, tmp_path, capsys, how):
    before = _sha(hour_file)
    source, out = hour_file, hour_file
    if how == "symlink to the input":
        out = tmp_path / "link.parquet"
        out.symlink_to(hour_file)
    elif how == "hard link to the input":
        out = tmp_path / "hard.parquet"
        os.link(hour_file, out)
    elif how == "input via symlink":
        source = tmp_path / "alias.lz4"
        source.symlink_to(hour_file)
    assert cli_main(["convert", "l2", str(source), str(out)]) == 2
    error = capsys.readouterr().err
    assert f"{out}: refusing to write: it is the input file" in error
    assert _sha(hour_file) == before and hour_file.stat().st_size == len(_hour(LEVELS, LEVELS))
    _no_temp_files(tmp_path)


def test_refuses_an_output_that_exists_and_is_not_a_regular_file(hour_file, tmp_path, capsys):
    directory = tmp_path / "a-directory"
    directory.mkdir()
    fifo = tmp_path / "a-fifo"
    os.mkfifo(fifo)
    link_to_directory = tmp_path / "link-to-directory"
    link_to_directory.symlink_to(directory)
    outputs = {directory: "a directory", fifo: "a fifo", link_to_directory: "a directory"}
    if Path("/dev/full").exists() and stat.S_ISCHR(os.stat("/dev/full").st_mode):
        outputs[Path("/dev/full")] = "a character device"
    for out, kind in outputs.items():
        assert cli_main(["convert", "l2", str(hour_file), str(out)]) == 2
        assert f"{out}: refusing to write: it exists and is not a regular file ({kind})" in capsys.readouterr().err
    assert stat.S_ISFIFO(fifo.lstat().st_mode) and directory.is_dir() and not any(directory.iterdir())
    if Path("/dev/full").exists():
        assert stat.S_ISCHR(os.stat("/dev/full").st_mode)  # still the device, not a regular file
    _no_temp_files(tmp_path)


def test_writes_a_new_path_or_replaces_another_regular_file(hour_file, tmp_path):
    new = tmp_path / "new" / "dir" / "hour.parquet"
    assert cli_main(["convert", "l2", str(hour_file), str(new), "--coin", "ETH"]) == 0
    existing = tmp_path / "existing.parquet"
    existing.write_bytes(b"an older file")
    assert cli_main(["convert", "l2", str(hour_file), str(existing)]) == 0
    expected = parse_l2_book(hour_file.read_bytes(), "x", "ETH")
    assert pl.read_parquet(new).equals(expected) and pl.read_parquet(existing).equals(expected)
    _no_temp_files(tmp_path)
    _no_temp_files(new.parent)


def test_a_crossed_book_fails_the_blocking_checks_unless_they_are_skipped(tmp_path, capsys):
    source, out = tmp_path / "ETH.lz4", tmp_path / "out.parquet"
    source.write_bytes(_hour(LEVELS, CROSSED, LEVELS))
    assert cli_main(["convert", "l2", str(source), str(out)]) == 1
    error = capsys.readouterr().err
    assert f"{source}: fails the blocking quality checks: 1 crossed books (best bid >= best ask)" in error
    assert "--no-checks" in error and "nothing written" in error
    assert not out.exists()
    _no_temp_files(tmp_path)
    assert cli_main(["convert", "l2", str(source), str(out), "--no-checks"]) == 0
    assert "checks skipped (--no-checks)" in capsys.readouterr().out
    assert pl.read_parquet(out)["bid_px"].to_list() == [[100.5], [102.0], [100.5]]


def _spot_zip(path: Path, rows: list[str]) -> Path:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(path.name.replace(".zip", ".csv"), "".join(rows))
    path.write_bytes(buffer.getvalue())
    return path


def test_trades_out_of_order_fail_the_checks_and_a_good_day_passes_them(tmp_path, capsys):
    good = [f"{i},100.0,2.0,200.0,{1704067200000 + i},True,True\n" for i in range(1, 4)]
    bad = _spot_zip(tmp_path / "BTCUSDT-trades-2024-01-01.zip", [good[1], good[0], good[2]])
    assert cli_main(["convert", "trades", str(bad), str(tmp_path / "bad.parquet")]) == 1
    assert f"{bad}: fails the blocking quality checks: times go backwards" in capsys.readouterr().err
    assert not (tmp_path / "bad.parquet").exists()
    (tmp_path / "ok").mkdir()
    ok = _spot_zip(tmp_path / "ok" / "BTCUSDT-trades-2024-01-01.zip", good)
    assert cli_main(["convert", "trades", str(ok), str(tmp_path / "ok.parquet")]) == 0
    assert "checks passed" in capsys.readouterr().out
    assert pl.read_parquet(tmp_path / "ok.parquet")["trade_id"].to_list() == [1, 2, 3]


def test_a_corrupt_input_exits_1_naming_it_and_writes_nothing(tmp_path, capsys):
    source = tmp_path / "ETH.lz4"
    source.write_bytes(_hour(LEVELS)[:-5])
    trades = _spot_zip(tmp_path / "BTCUSDT-trades-2024-01-01.zip", ["1,100.0,2.0,200.0,1704067200000,True,True\n"])
    damaged = bytearray(trades.read_bytes())
    damaged[62] ^= 0xFF  # inside the deflate stream (after the 30-byte local header and the 29-byte name)
    trades.write_bytes(bytes(damaged))
    for table, path in (("l2", source), ("trades", trades)):
        assert cli_main(["convert", table, str(path), str(tmp_path / "out.parquet")]) == 1
        assert f"{path}: " in capsys.readouterr().err
    assert not (tmp_path / "out.parquet").exists()
    _no_temp_files(tmp_path)


def test_convert_imports_neither_dagster_nor_mlflow_sklearn_pandas_or_pyarrow(real_data, tmp_path):
    code = (
        "import sys, json\n"
        "from hyperliquid_assets.cli import main\n"
        f"status = main(['convert', 'l2', {str(real_data / REAL_L2_HOUR)!r}, {str(tmp_path / 'h.parquet')!r}])\n"
        "heavy = [m for m in ('dagster', 'mlflow', 'sklearn', 'pandas', 'pyarrow', 'duckdb', 'boto3') if m in sys.modules]\n"
        "print(json.dumps([status, heavy]))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(result.stdout.strip().splitlines()[-1]) == [0, []]
