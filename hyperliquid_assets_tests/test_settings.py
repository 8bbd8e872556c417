"""Bad configuration is refused when the settings are read (code location load, CLI start), naming the variable;
settings that change the data are part of each table's identity (its lake path), so variants never mix."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import date

import pytest

from hyperliquid_assets.cli import main as cli_main
from hyperliquid_assets.lake import Lake
from hyperliquid_assets.settings import PROJECT_ROOT, SettingsError, load_settings

TODAY = date(2026, 11, 21)


@pytest.mark.parametrize("env, variable, problem", [
    ({"HL_COINS": " , "}, "HL_COINS", "names no coin"),
    ({"HL_COINS": "BTC,../x"}, "HL_COINS", "must be alphanumeric"),
    ({"HL_COINS": "BTC,BTC"}, "HL_COINS", "twice"),
    ({"HL_BINANCE_LISTINGS": "{not json"}, "HL_BINANCE_LISTINGS", "not valid JSON"),
    ({"HL_BINANCE_LISTINGS": "[1, 2]"}, "HL_BINANCE_LISTINGS", "must be a JSON object"),
    ({"HL_BINANCE_LISTINGS": '{"BTC": "BTCUSDT"}'}, "HL_BINANCE_LISTINGS", "must be an object"),
    ({"HL_BINANCE_LISTINGS": '{"BTC": {"symbol": ""}}'}, "HL_BINANCE_LISTINGS", "must be non-empty"),
    ({"HL_BINANCE_LISTINGS": '{"BTC": {"symbol": "../../x"}}'}, "HL_BINANCE_LISTINGS", "A-Z, 0-9 and _"),
    ({"HL_BINANCE_LISTINGS": '{"BTC": {"symbol": "btcusdt"}}'}, "HL_BINANCE_LISTINGS", "A-Z, 0-9 and _"),
    ({"HL_BINANCE_LISTINGS": '{"BTC": {"symbol": "BTCUSD_PERP", "market": "coinm", "kind": "aggTrades", '
                             '"contract_size": 0}}'}, "HL_BINANCE_LISTINGS", "positive number"),
    ({"HL_BINANCE_LISTINGS": '{"BTC": {"symbol": "BTCUSD_PERP", "market": "coinm", "contract_size": -100}}'},
     "HL_BINANCE_LISTINGS", "positive number"),
    ({"HL_BINANCE_LISTINGS": '{"BTC": {"symbol": "X", "size": 1}}'}, "HL_BINANCE_LISTINGS", "unknown fields"),
    ({"HL_COINS": "BTC,DOGE"}, "HL_BINANCE_LISTINGS", "['DOGE'] have no Binance listing"),
    ({"HL_FEATURE_BAR": "5s"}, "HL_FEATURE_BAR", "must be one of 1s, 1m"),
    ({"HL_START_DATE": "2026-13-01"}, "HL_START_DATE", "must be a date"),
    ({"HL_START_DATE": "2026-11-21"}, "HL_START_DATE", "is not in the past"),
    ({"HL_START_DATE": "2027-01-01"}, "HL_START_DATE", "is not in the past"),
    ({"HL_SOURCE": "s3"}, "HL_SOURCE", "must be local or remote"),
    ({"HL_ARCHIVE_LOOKBACK_DAYS": "0"}, "HL_ARCHIVE_LOOKBACK_DAYS", "must be positive"),
    ({"HL_MODEL_WINDOW_DAYS": "seven"}, "HL_MODEL_WINDOW_DAYS", "whole number"),
    ({"HL_S3_ENDPOINT_URL": "localhost:9000"}, "HL_S3_ENDPOINT_URL", "http(s) URL"),
])
def test_bad_settings_are_refused_naming_the_variable(env, variable, problem):
    with pytest.raises(SettingsError) as refused:
        load_settings(env, today=TODAY)
    assert str(refused.value).startswith(f"{variable}: ") and problem in str(refused.value)


def test_defaults_and_a_coinm_listing():
    settings = load_settings({}, today=TODAY)
    assert settings.coins == ("BTC", "ETH") and settings.feature_bar == "1s" and settings.archive_lookback_days == 45
    # Models: a 2-day window at every 5th bar on the offline demo mirror, a week of every bar on the real upstreams.
    assert (settings.model_window_days, settings.model_stride) == (2, 5)
    remote = load_settings({"HL_SOURCE": "remote"}, today=TODAY)
    assert (remote.model_window_days, remote.model_stride) == (7, 1)
    chosen = load_settings({"HL_SOURCE": "remote", "HL_MODEL_WINDOW_DAYS": "3", "HL_MODEL_STRIDE": "2"}, today=TODAY)
    assert (chosen.model_window_days, chosen.model_stride) == (3, 2)
    coinm = load_settings({"HL_BINANCE_LISTINGS": '{"BTC": {"symbol": "BTCUSD_PERP", "market": "coinm", '
                                                  '"kind": "aggTrades", "contract_size": 100}}'}, today=TODAY)
    assert coinm.listing("BTC").listing_id == "coinm-aggTrades-BTCUSD_PERP"
    assert coinm.listing("ETH").listing_id == "spot-trades-ETHUSDT"


def test_the_code_location_refuses_to_load_with_a_bad_setting():
    env = {**os.environ, "DAGSTER_HOME": str(PROJECT_ROOT), "HL_BINANCE_LISTINGS": '{"BTC": {"symbol": "../../x"}}'}
    result = subprocess.run([sys.executable, "-m", "dagster", "definitions", "validate", "-w", "workspace.yaml"],
                            cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=180, env=env)
    assert result.returncode != 0
    assert "HL_BINANCE_LISTINGS: Binance symbol '../../x' must be non-empty and made of A-Z, 0-9 and _" in (
        result.stdout + result.stderr)


def test_the_cli_refuses_bad_windows_and_settings(monkeypatch, capsys):
    with pytest.raises(SystemExit, match="--days must be positive"):
        cli_main(["backfill", "--days", "0"])
    with pytest.raises(SystemExit, match="--days must be positive"):
        cli_main(["demo", "--days", "-1"])
    monkeypatch.setenv("HL_FEATURE_BAR", "2m")
    with pytest.raises(SettingsError, match="^HL_FEATURE_BAR: "):
        cli_main(["sql", "SELECT 1"])


def test_variants_of_a_table_live_at_different_paths(tmp_path):
    day = date(2026, 1, 2)
    one_second, one_minute = Lake(tmp_path, bar="1s"), Lake(tmp_path, bar="1m")
    coinm = Lake(tmp_path, listings=load_settings(
        {"HL_BINANCE_LISTINGS": '{"BTC": {"symbol": "BTCUSD_PERP", "market": "coinm", "contract_size": 100}}'},
        today=TODAY).listings)
    for table in ("book_features", "trade_flow_features", "features"):
        assert one_second.feature_path(table, "BTC", day) != one_minute.feature_path(table, "BTC", day)
    assert one_second.labels_path("BTC", day) != one_minute.labels_path("BTC", day)
    assert one_second.clean_trades_path("BTC", day) != coinm.clean_trades_path("BTC", day)
    assert one_second.feature_path("features", "BTC", day) != coinm.feature_path("features", "BTC", day)
    assert one_second.feature_path("book_features", "BTC", day) == coinm.feature_path("book_features", "BTC", day)
    assert "bar=1m" in one_minute.feature_path("features", "BTC", day).as_posix()
