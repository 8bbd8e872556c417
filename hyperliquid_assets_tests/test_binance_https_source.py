"""The HTTPS path against a local HTTP server serving the real COIN-M zip and its CHECKSUM."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from werkzeug import Response

from hyperliquid_assets.clean_tables import clean_trades_day
from hyperliquid_assets.lake import Lake
from hyperliquid_assets.raw_objects import store_trades_day
from hyperliquid_assets.settings import BinanceListing
from hyperliquid_assets.sources.errors import PermanentSourceError
from hyperliquid_assets.sources.layout import binance_trades_key, checksum_key
from hyperliquid_assets.sources.object_sources import HttpsHost
from hyperliquid_assets.sources.retry import RetryPolicy
from hyperliquid_assets_tests.conftest import REAL_COINM_DAY

DAY = date(2026, 5, 8)
LISTING = BinanceListing("BTCUSD_PERP", "coinm", "aggTrades", contract_size=100.0)
KEY = binance_trades_key(LISTING, DAY)
FAST_RETRY = RetryPolicy(max_attempts=3, base_delay_s=0.01, max_delay_s=0.05)


@pytest.fixture
def real_zip(real_data):
    assert REAL_COINM_DAY == f"data.binance.vision/{KEY}"  # our key layout is the upstream's
    return (real_data / REAL_COINM_DAY).read_bytes(), (real_data / (REAL_COINM_DAY + ".CHECKSUM")).read_bytes()


def _host(httpserver) -> HttpsHost:
    httpserver.no_handler_status_code = 404  # like the real host for a file not published yet
    return HttpsHost(httpserver.url_for("/").rstrip("/"), retry=FAST_RETRY, timeout_s=5)


def _stored(tmp_path):
    return sorted(p.name for p in tmp_path.rglob("*") if p.is_file())


def test_real_day_is_downloaded_verified_stored_and_cleaned(httpserver, real_zip, tmp_path):
    blob, checksum = real_zip
    httpserver.expect_request(f"/{KEY}").respond_with_data(blob, content_type="application/zip")
    httpserver.expect_request(f"/{checksum_key(KEY)}").respond_with_data(checksum)
    lake = Lake(tmp_path)
    outcome = store_trades_day(_host(httpserver), lake, LISTING, DAY)
    assert outcome.status == "stored"
    assert outcome.facts["sha256"] == "8bfbaa4cd0dfd49cc9e6cdede78e0b2851f42f1dbb7d917bc0847ce1eac4afbe"
    assert lake.raw_trades_path(LISTING, DAY).read_bytes() == blob
    assert lake.raw_trades_checksum_path(LISTING, DAY).read_bytes() == checksum
    cleaned = clean_trades_day(lake, "BTC", LISTING, DAY)
    assert (cleaned.status, cleaned.quality.rows) == ("written", 105_280)


def test_404_is_a_missing_day(httpserver, tmp_path):
    outcome = store_trades_day(_host(httpserver), Lake(tmp_path), LISTING, DAY)
    assert outcome.status == "missing"
    assert _stored(tmp_path) == []


def test_500_then_success(httpserver, real_zip, tmp_path):
    blob, checksum = real_zip
    httpserver.expect_request(f"/{checksum_key(KEY)}").respond_with_data(checksum)
    httpserver.expect_oneshot_request(f"/{KEY}").respond_with_data("busy", status=500)
    httpserver.expect_oneshot_request(f"/{KEY}").respond_with_data("busy", status=503)
    httpserver.expect_oneshot_request(f"/{KEY}").respond_with_data(blob)
    outcome = store_trades_day(_host(httpserver), Lake(tmp_path), LISTING, DAY)
    assert outcome.status == "stored"
    assert [request.path for request, _ in httpserver.log[1:]] == [f"/{KEY}"] * 3


def test_connection_dropped_mid_body_is_retried(httpserver, real_zip, tmp_path):
    blob, checksum = real_zip

    def cut_short(request):
        # Announce the whole length, send half, and close: what a reset mid-transfer looks like to the client.
        return Response(iter([blob[: len(blob) // 2]]), headers={"Content-Length": str(len(blob))})

    httpserver.expect_request(f"/{checksum_key(KEY)}").respond_with_data(checksum)
    httpserver.expect_oneshot_request(f"/{KEY}").respond_with_handler(cut_short)
    httpserver.expect_oneshot_request(f"/{KEY}").respond_with_data(blob)
    outcome = store_trades_day(_host(httpserver), Lake(tmp_path), LISTING, DAY)
    assert outcome.status == "stored"
    assert Lake(tmp_path).raw_trades_path(LISTING, DAY).read_bytes() == blob


def test_checksum_mismatch_fails_naming_the_file_and_stores_nothing(httpserver, real_zip, tmp_path):
    blob, checksum = real_zip
    tampered = blob[:1000] + bytes([blob[1000] ^ 1]) + blob[1001:]
    httpserver.expect_request(f"/{KEY}").respond_with_data(tampered)
    httpserver.expect_request(f"/{checksum_key(KEY)}").respond_with_data(checksum)
    with pytest.raises(PermanentSourceError, match=r"BTCUSD_PERP-aggTrades-2026-05-08\.zip: gave up after 3 attempts.*does not match CHECKSUM"):
        store_trades_day(_host(httpserver), Lake(tmp_path), LISTING, DAY, checksum_retry=FAST_RETRY)
    assert _stored(tmp_path) == []


def test_permanent_http_errors_are_not_retried(httpserver, tmp_path):
    httpserver.expect_request(f"/{checksum_key(KEY)}").respond_with_data("denied", status=403)
    with pytest.raises(PermanentSourceError, match="HTTP 403"):
        store_trades_day(_host(httpserver), Lake(tmp_path), LISTING, DAY)
    assert len(httpserver.log) == 1


def test_stored_day_is_not_fetched_again_and_a_tampered_store_is_caught(httpserver, real_zip, tmp_path):
    blob, checksum = real_zip
    httpserver.expect_request(f"/{KEY}").respond_with_data(blob)
    httpserver.expect_request(f"/{checksum_key(KEY)}").respond_with_data(checksum)
    lake = Lake(tmp_path)
    store_trades_day(_host(httpserver), lake, LISTING, DAY)
    requests = len(httpserver.log)
    assert store_trades_day(_host(httpserver), lake, LISTING, DAY).status == "already_stored"
    assert len(httpserver.log) == requests

    path = lake.raw_trades_path(LISTING, DAY)
    path.write_bytes(path.read_bytes()[:-10])  # a disk fault in the stored copy
    with pytest.raises(ValueError, match="does not match CHECKSUM [0-9a-f]+; the stored copy was set aside as"):
        clean_trades_day(lake, "BTC", LISTING, DAY)
    assert not lake.clean_trades_path("BTC", DAY).exists()
    # The clean step set the bad copy aside (kept for inspection); the raw step fetches the object again.
    (aside,) = path.parent.glob(f"{path.name}.corrupt-*")
    assert aside.read_bytes() == blob[:-10]
    repaired = store_trades_day(_host(httpserver), lake, LISTING, DAY)
    assert repaired.status == "stored" and path.read_bytes() == blob
    assert clean_trades_day(lake, "BTC", LISTING, DAY).status == "written"

    # The raw step's own check catches a fault the clean step has not met yet, and sets that copy aside too.
    path.write_bytes(path.read_bytes()[:-10])
    repaired = store_trades_day(_host(httpserver), lake, LISTING, DAY)
    assert repaired.status == "stored" and path.read_bytes() == blob
    assert Path(repaired.facts["set_aside_corrupt_copy"]).read_bytes() == blob[:-10]


def test_tls_certificate_rejection_is_permanent_not_retried(tmp_path):
    import shutil
    import ssl
    import subprocess

    from pytest_httpserver import HTTPServer

    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a self-signed certificate")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server = HTTPServer(host="localhost", port=0, ssl_context=context)
    server.start()
    try:
        server.expect_request(f"/{KEY}").respond_with_data(b"never served")
        host = HttpsHost(server.url_for("/").rstrip("/"), retry=RetryPolicy(max_attempts=3, base_delay_s=5.0), timeout_s=5)
        assert host.base_url.startswith("https://")
        with pytest.raises(PermanentSourceError, match="TLS certificate rejected") as failure:
            host.fetch(KEY)  # a retry would sleep 5 s: this returns at once
        assert KEY in str(failure.value) and "gave up" not in str(failure.value)
        assert server.log == []
    finally:
        server.clear()
        server.stop()
