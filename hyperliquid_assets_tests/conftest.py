"""Shared fixtures: the real upstream samples in ../shared/data/real, and a real S3 server (moto) on loopback."""

from __future__ import annotations

import itertools
import os
import tempfile
from pathlib import Path

import boto3
import pytest

# Tests pin the default universe; a developer's own settings must not leak in (before definitions import).
_TEST_CONTROLS = ("HL_REQUIRE_", "HL_FUZZ_", "HL_REAL_DATA", "HL_ALLOW_", "HL_CHROMIUM")  # how to run the tests, not settings
for _name in [n for n in os.environ if n.startswith("HL_") and not n.startswith(_TEST_CONTROLS)]:
    os.environ.pop(_name, None)
# Models train on a 2-day window at every 5th bar (the demo mirror's defaults, pinned): tests of days 1-3 get a model
# for day 3.
os.environ.update(HL_MODEL_WINDOW_DAYS="2", HL_MODEL_STRIDE="5")
# Nothing a test runs may write to the project's MLflow store (tests that use MLflow name their own store; this
# catches any that would fall back to the default).
_MLRUNS = Path(tempfile.mkdtemp(prefix="hl-tests-mlruns-"))
os.environ.update(MLFLOW_TRACKING_URI=f"sqlite:///{_MLRUNS / 'mlflow.db'}", HL_MLFLOW_ARTIFACT_ROOT=str(_MLRUNS))

from hyperliquid_assets.settings import PROJECT_ROOT  # noqa: E402

REAL_DATA = Path(os.environ.get("HL_REAL_DATA", PROJECT_ROOT.parent / "shared" / "data" / "real"))
REAL_L2_HOUR = "hyperliquid-archive/market_data/20240101/12/l2Book/BTC.lz4"
REAL_COINM_DAY = (
    "data.binance.vision/data/futures/cm/daily/aggTrades/BTCUSD_PERP/BTCUSD_PERP-aggTrades-2026-05-08.zip"
)
REAL_SPOT_FIRST5 = "partial/data.binance.vision/data/spot/daily/trades/BTCUSDT/BTCUSDT-trades-2024-01-01.first5.csv"


_bucket_numbers = itertools.count()


@pytest.fixture(scope="session")
def real_data() -> Path:
    """The real samples; a fresh clone without ../shared skips these tests, CI (HL_REQUIRE_REAL_DATA=1) fails."""
    if not (REAL_DATA / REAL_L2_HOUR).exists():
        reason = f"real upstream samples not found at {REAL_DATA} (see ../shared/data/real/SOURCES.md)"
        if os.environ.get("HL_REQUIRE_REAL_DATA") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return REAL_DATA


@pytest.fixture(scope="session")
def s3_server():
    """moto's S3 server on a free loopback port, with dummy credentials in the environment for boto3's chain."""
    from moto.server import ThreadedMotoServer

    saved = {k: os.environ.get(k) for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")}
    os.environ.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1")
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()
    for key, value in saved.items():
        if value is None:
            os.environ.pop(key, None)
        else:
            os.environ[key] = value


@pytest.fixture
def archive_bucket(s3_server):
    """A fresh requester-pays bucket on the moto server; yields (endpoint_url, bucket name, boto3 client)."""
    client = boto3.client("s3", endpoint_url=s3_server, region_name="us-east-1")
    name = f"hl-archive-{next(_bucket_numbers)}"
    client.create_bucket(Bucket=name)
    client.put_bucket_request_payment(Bucket=name, RequestPaymentConfiguration={"Payer": "Requester"})
    yield s3_server, name, client
    for obj in client.list_objects_v2(Bucket=name).get("Contents", []):
        client.delete_object(Bucket=name, Key=obj["Key"])
    client.delete_bucket(Bucket=name)
