"""A user name and password in HL_BINANCE_BASE_URL or HL_S3_ENDPOINT_URL are used (HTTP basic auth; the S3
access key and secret) and never stored, logged or put in an error message. Real servers on loopback: a local
HTTP server that demands basic auth, and moto's S3 behind the recording proxy."""

from __future__ import annotations

import base64
import logging
import socket
import traceback
from datetime import date, datetime, timezone
from urllib.parse import quote

import pytest
from werkzeug import Response

from hyperliquid_assets.clean_tables import clean_l2_hour, clean_trades_day
from hyperliquid_assets.lake import Lake
from hyperliquid_assets.raw_objects import store_l2_hour, store_trades_day
from hyperliquid_assets.settings import BinanceListing
from hyperliquid_assets.sources.errors import PermanentSourceError
from hyperliquid_assets.sources.layout import binance_trades_key, checksum_key, l2_book_key
from hyperliquid_assets.sources.object_sources import HttpsHost, S3Bucket
from hyperliquid_assets.sources.retry import RetryPolicy
from hyperliquid_assets.sources.urls import split_credentials
from hyperliquid_assets_tests.fault_proxy import FaultProxy
from hyperliquid_assets_tests.upstream_objects import l2_hour_object, spot_trades_zip

USER, PASSWORD = "mirror-reader", "p@ss:w/rd%S3CRET"  # characters that must be percent-encoded in a URL
DAY, HOUR = date(2026, 1, 1), datetime(2026, 1, 1, 5, tzinfo=timezone.utc)
LISTING = BinanceListing("BTCUSDT")
FAST_RETRY = RetryPolicy(max_attempts=2, base_delay_s=0.01, max_delay_s=0.02)


def _with_credentials(url: str, user: str = USER, password: str = PASSWORD) -> str:
    scheme, rest = url.split("://", 1)
    return f"{scheme}://{quote(user, safe='')}:{quote(password, safe='')}@{rest}"


def _leaks(text: str, user: str = USER) -> list[str]:
    secrets = {PASSWORD, quote(PASSWORD, safe=""), user, quote(user, safe="")}
    return sorted(secret for secret in secrets if secret in text)


def _ours(records) -> list[logging.LogRecord]:
    """What the project logs, and any library's warnings and errors (botocore's DEBUG log shows the access key
    id inside each request's signature, as it does for any S3 credentials; never the secret)."""
    return [r for r in records if r.name.startswith("hyperliquid_assets") or r.levelno >= logging.WARNING]


def _everything_said(outcomes, errors, records) -> str:
    """Every string a run stores (outcomes and their facts), raises (with causes) or logs."""
    said = [repr(o) for o in outcomes]
    said += ["".join(traceback.format_exception(e)) for e in errors]
    said += [f"{r.name} {r.getMessage()}" for r in records]
    return "\n".join(said)


def test_split_credentials_takes_user_info_out_and_decodes_it():
    parts = split_credentials(_with_credentials("https://mirror.example:8443/base"))
    assert (parts.url, parts.username, parts.password) == ("https://mirror.example:8443/base", USER, PASSWORD)
    assert PASSWORD not in repr(parts) and USER not in repr(parts)
    assert split_credentials("https://data.binance.vision").username is None


def test_binance_base_url_credentials_authenticate_and_never_show(httpserver, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    key = binance_trades_key(LISTING, DAY)
    blob, checksum = spot_trades_zip(DAY)
    expected = "Basic " + base64.b64encode(f"{USER}:{PASSWORD}".encode()).decode()

    def authenticated(body: bytes, status: int = 200):
        def respond(request):
            if request.headers.get("Authorization") != expected:
                return Response("who are you?", status=401)
            return Response(body, status=status)
        return respond

    httpserver.no_handler_status_code = 404
    httpserver.expect_request(f"/{key}").respond_with_handler(authenticated(blob))
    httpserver.expect_request(f"/{checksum_key(key)}").respond_with_handler(authenticated(checksum))
    broken = binance_trades_key(LISTING, date(2026, 1, 3))
    httpserver.expect_request(f"/{checksum_key(broken)}").respond_with_handler(authenticated(b"down", status=503))
    base = httpserver.url_for("/").rstrip("/")
    host = HttpsHost(_with_credentials(base), retry=FAST_RETRY, timeout_s=5)
    lake = Lake(tmp_path)

    stored = store_trades_day(host, lake, LISTING, DAY)
    assert stored.status == "stored" and stored.source_uri == f"{base}/{key}"
    assert clean_trades_day(lake, "BTC", LISTING, DAY).status == "written"
    missing = store_trades_day(host, lake, LISTING, date(2026, 1, 2))
    assert missing.status == "missing"
    with pytest.raises(PermanentSourceError) as failure:
        store_trades_day(host, lake, LISTING, date(2026, 1, 3), checksum_retry=RetryPolicy(1))
    assert str(failure.value).startswith(f"{base}/{checksum_key(broken)}: gave up after 2 attempts")

    said = _everything_said([stored, missing], [failure.value], caplog.records)  # every level, every logger
    assert "attempt 1 failed" in said  # the retry warning is among what was checked
    assert _leaks(said) == []


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_s3_endpoint_credentials_sign_the_requests_and_never_show(archive_bucket, tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    endpoint, bucket, client = archive_bucket
    key, blob = l2_book_key("BTC", HOUR), l2_hour_object(HOUR)
    client.put_object(Bucket=bucket, Key=key, Body=blob)
    access_key = "AKIDFROMTHEURL"
    lake = Lake(tmp_path)
    with FaultProxy(endpoint) as proxy:
        source = S3Bucket(bucket, endpoint_url=_with_credentials(proxy.url, access_key), region_name="us-east-1",
                          retry=FAST_RETRY)
        stored = store_l2_hour(source, lake, "BTC", HOUR)
        # Signed with the key from the URL, not with the environment's ("testing").
        assert f"Credential={access_key}/" in proxy.get_headers[0]["authorization"]
        proxy.faults.extend(["500", "500"])
        with pytest.raises(PermanentSourceError) as gave_up:
            store_l2_hour(source, Lake(tmp_path / "other"), "BTC", HOUR)
    assert stored.status == "stored" and stored.source_uri == f"s3://{bucket}/{key}"
    assert clean_l2_hour(lake, "BTC", HOUR).status == "written"

    unreachable = S3Bucket(bucket, endpoint_url=_with_credentials(f"http://127.0.0.1:{_closed_port()}", access_key),
                           region_name="us-east-1", retry=FAST_RETRY, timeout_s=2)
    with pytest.raises(PermanentSourceError, match="Could not connect to the endpoint URL") as refused:
        unreachable.fetch(key)

    errors = [gave_up.value, refused.value]
    assert "127.0.0.1" in _everything_said([stored], errors, caplog.records)
    assert _leaks(_everything_said([stored], errors, caplog.records), user=PASSWORD) == []  # the secret: nowhere
    assert _leaks(_everything_said([stored], errors, _ours(caplog.records)), user=access_key) == []
