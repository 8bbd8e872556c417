"""Switching to the real upstreams is configuration only; the CLI converts single files with the asset code."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import dagster as dg
import polars as pl

from hyperliquid_assets.cli import main as cli_main
from hyperliquid_assets.defs.resources import resources_from_settings
from hyperliquid_assets.formats.binance_trades import parse_trades_zip
from hyperliquid_assets.formats.hyperliquid_l2 import parse_l2_book
from hyperliquid_assets.lake import Lake
from hyperliquid_assets.raw_objects import store_l2_hour, store_trades_day
from hyperliquid_assets.settings import BinanceListing, load_settings
from hyperliquid_assets.sources.layout import l2_book_key
from hyperliquid_assets.sources.object_sources import HttpsHost, LocalMirror, S3Bucket
from hyperliquid_assets_tests.conftest import REAL_COINM_DAY, REAL_L2_HOUR

HOUR = datetime(2024, 1, 1, 12, tzinfo=timezone.utc)


def test_default_is_the_offline_mirror(tmp_path):
    resources = resources_from_settings(load_settings({"HL_LAKE_ROOT": str(tmp_path)}), env={})
    assert isinstance(resources["hyperliquid_archive"].spec().build(), LocalMirror)
    assert isinstance(resources["binance_vision"].spec().build(), LocalMirror)
    assert resources["hyperliquid_archive"].mirror_root == str(tmp_path / "mirror" / "hyperliquid-archive")


def test_hl_source_remote_reads_s3_and_https_endpoints_from_configuration(real_data, s3_server, httpserver, tmp_path,
                                                                         monkeypatch):
    import boto3

    client = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    client.create_bucket(Bucket="hyperliquid-archive")
    client.put_bucket_request_payment(Bucket="hyperliquid-archive", RequestPaymentConfiguration={"Payer": "Requester"})
    hour_blob = (real_data / REAL_L2_HOUR).read_bytes()
    client.put_object(Bucket="hyperliquid-archive", Key=l2_book_key("BTC", HOUR), Body=hour_blob)
    zip_key = REAL_COINM_DAY.removeprefix("data.binance.vision/")
    httpserver.expect_request(f"/{zip_key}").respond_with_data((real_data / REAL_COINM_DAY).read_bytes())
    httpserver.expect_request(f"/{zip_key}.CHECKSUM").respond_with_data((real_data / (REAL_COINM_DAY + ".CHECKSUM")).read_bytes())

    env = {"HL_SOURCE": "remote", "HL_S3_ENDPOINT_URL": s3_server, "HL_S3_REGION": "us-east-1",
           "HL_BINANCE_BASE_URL": httpserver.url_for("/").rstrip("/"), "HL_LAKE_ROOT": str(tmp_path)}
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    resources = resources_from_settings(load_settings(env), env=env)
    # Endpoint URLs may carry credentials: they are bound as EnvVars (the UI shows the name), resolved at runtime.
    assert isinstance(resources["hyperliquid_archive"].endpoint_url, dg.EnvVar)
    assert isinstance(resources["binance_vision"].base_url, dg.EnvVar)
    archive = resources["hyperliquid_archive"].process_config_and_initialize().spec().build()
    binance = resources["binance_vision"].process_config_and_initialize().spec().build()
    assert isinstance(archive, S3Bucket) and archive.bucket == "hyperliquid-archive" and archive.requester_pays
    assert isinstance(binance, HttpsHost)
    lake = Lake(tmp_path)
    assert store_l2_hour(archive, lake, "BTC", HOUR).status == "stored"
    assert lake.raw_l2_path("BTC", HOUR).read_bytes() == hour_blob
    listing = BinanceListing("BTCUSD_PERP", "coinm", "aggTrades", contract_size=100.0)
    assert store_trades_day(binance, lake, listing, datetime(2026, 5, 8).date()).status == "stored"


def test_convert_commands_write_what_the_assets_write(real_data, tmp_path, capsys):
    hour_out, day_out = tmp_path / "hour.parquet", tmp_path / "day.parquet"
    assert cli_main(["convert", "l2", str(real_data / REAL_L2_HOUR), str(hour_out), "--coin", "BTC"]) == 0
    assert cli_main(["convert", "trades", str(real_data / REAL_COINM_DAY), str(day_out)]) == 0
    printed = capsys.readouterr().out
    assert "5,587 rows" in printed and "105,280 rows" in printed
    assert pl.read_parquet(hour_out).equals(parse_l2_book((real_data / REAL_L2_HOUR).read_bytes(), "x", "BTC"))
    # Market (COIN-M, from the path), kind and symbol (from the name) and the contract size were inferred.
    expected = parse_trades_zip((real_data / REAL_COINM_DAY).read_bytes(),
                                BinanceListing("BTCUSD_PERP", "coinm", "aggTrades", 100.0), "x")
    assert pl.read_parquet(day_out).equals(expected)
    assert not list(Path(tmp_path).glob(".*.tmp"))


def test_a_backfill_asks_for_models_only_where_their_training_days_can_be_in_the_lake(tmp_path):
    """Day D's model trains on the 2 days before D: in a window that starts on an empty lake, models begin on
    its third day; once the lake holds the days before the window, on its first; a gap counts as missing."""
    from datetime import date

    from hyperliquid_assets.cli.backfill import first_model_day
    from hyperliquid_assets.defs.backfills import window_selection
    from hyperliquid_assets.definitions import defs

    settings = load_settings({"HL_LAKE_ROOT": str(tmp_path), "HL_MODEL_WINDOW_DAYS": "2"})
    first = date(2026, 3, 10)
    assert first_model_day(settings, "BTC", first) == date(2026, 3, 12)
    lake = Lake(tmp_path, bar=settings.feature_bar)
    for day in (date(2026, 3, 8), date(2026, 3, 9)):
        for path in (lake.feature_path("features", "BTC", day), lake.labels_path("BTC", day)):
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(b"")
    assert first_model_day(settings, "BTC", first) == first
    assert first_model_day(settings, "ETH", first) == date(2026, 3, 12)  # per coin
    lake.labels_path("BTC", date(2026, 3, 8)).unlink()
    assert first_model_day(settings, "BTC", first) == date(2026, 3, 11)

    selection = window_selection(defs.resolve_asset_graph(), ["BTC"], first, date(2026, 3, 13),
                                 first_model_day=date(2026, 3, 12))
    ranges = {e["assetKey"]["path"][0]: e["partitions"]["ranges"][0]["start"] for e in selection if "partitions" in e}
    assert ranges["features"] == "BTC|2026-03-10" and ranges["model_xgboost"] == "BTC|2026-03-12"
    assert ranges["backtest_logreg"] == "BTC|2026-03-12" and ranges["l2_book"] == "BTC|2026-03-10-00:00"
