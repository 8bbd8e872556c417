"""The S3 path against moto's real S3 server on loopback, with a requester-pays bucket holding the real hour."""

from __future__ import annotations

from datetime import datetime, timezone

import lz4.frame
import pytest

from hyperliquid_assets.clean_tables import clean_l2_hour
from hyperliquid_assets.formats.errors import CorruptObjectError
from hyperliquid_assets.lake import Lake
from hyperliquid_assets.raw_objects import store_l2_hour
from hyperliquid_assets.sources.errors import PermanentSourceError
from hyperliquid_assets.sources.layout import l2_book_key
from hyperliquid_assets.sources.object_sources import S3Bucket
from hyperliquid_assets.sources.retry import RetryPolicy
from hyperliquid_assets_tests.conftest import REAL_L2_HOUR
from hyperliquid_assets_tests.fault_proxy import FaultProxy

HOUR = datetime(2024, 1, 1, 12, tzinfo=timezone.utc)
KEY = l2_book_key("BTC", HOUR)
FAST_RETRY = RetryPolicy(max_attempts=3, base_delay_s=0.01, max_delay_s=0.05)


def _bucket(endpoint: str, name: str) -> S3Bucket:
    return S3Bucket(name, endpoint_url=endpoint, region_name="us-east-1", requester_pays=True, retry=FAST_RETRY)


def _files_under(path):
    return sorted(p.relative_to(path) for p in path.rglob("*") if p.is_file())


def test_real_hour_round_trips_through_requester_pays_s3(real_data, archive_bucket, tmp_path):
    endpoint, name, client = archive_bucket
    blob = (real_data / REAL_L2_HOUR).read_bytes()
    client.put_object(Bucket=name, Key=KEY, Body=blob)
    lake = Lake(tmp_path)
    with FaultProxy(endpoint) as proxy:
        outcome = store_l2_hour(_bucket(proxy.url, name), lake, "BTC", HOUR)
    assert [h.get("x-amz-request-payer") for h in proxy.get_headers] == ["requester"]
    assert "aws4-hmac-sha256" in proxy.get_headers[0]["authorization"].lower()  # signed by boto3's credential chain
    assert outcome.status == "stored"
    assert outcome.source_uri == f"s3://{name}/{KEY}"
    assert lake.raw_l2_path("BTC", HOUR).read_bytes() == blob
    assert outcome.facts["sha256"] == "cafac0d790370f65f1e44083b39e869e8e2801918ebe04c387b5c7461f52b746"
    assert outcome.facts["snapshots"] == 5587
    assert outcome.facts["first_snapshot_time"] == "2024-01-01T12:00:01.138942031Z"
    assert clean_l2_hour(lake, "BTC", HOUR).quality.rows == 5587


def test_missing_hour_is_a_known_state_not_an_error(archive_bucket, tmp_path):
    endpoint, name, _ = archive_bucket
    outcome = store_l2_hour(_bucket(endpoint, name), Lake(tmp_path), "BTC", HOUR)
    assert outcome.status == "missing"
    assert _files_under(tmp_path) == []
    assert clean_l2_hour(Lake(tmp_path), "BTC", HOUR).status == "missing"


def test_500_then_success_and_a_dropped_body_are_retried(real_data, archive_bucket, tmp_path):
    endpoint, name, client = archive_bucket
    blob = (real_data / REAL_L2_HOUR).read_bytes()
    client.put_object(Bucket=name, Key=KEY, Body=blob)
    with FaultProxy(endpoint) as proxy:
        proxy.faults.extend(["500", "drop"])
        outcome = store_l2_hour(_bucket(proxy.url, name), Lake(tmp_path), "BTC", HOUR)
        assert proxy.gets == 3
    assert outcome.status == "stored"
    assert Lake(tmp_path).raw_l2_path("BTC", HOUR).read_bytes() == blob


def test_persistent_5xx_gives_up_with_the_object_named_and_nothing_stored(archive_bucket, tmp_path):
    endpoint, name, client = archive_bucket
    client.put_object(Bucket=name, Key=KEY, Body=b"irrelevant")
    with FaultProxy(endpoint) as proxy:
        proxy.faults.extend(["500"] * 5)
        with pytest.raises(PermanentSourceError, match=rf"s3://{name}/{KEY}: gave up after 3 attempts"):
            store_l2_hour(_bucket(proxy.url, name), Lake(tmp_path), "BTC", HOUR)
    assert _files_under(tmp_path) == []


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (lambda real: real[: len(real) // 2], "not a complete LZ4 frame"),
        (lambda real: b"", "empty object"),
    ],
    ids=["truncated-lz4", "empty-file"],
)
def test_corrupt_objects_are_never_stored(real_data, archive_bucket, tmp_path, body, problem):
    endpoint, name, client = archive_bucket
    client.put_object(Bucket=name, Key=KEY, Body=body((real_data / REAL_L2_HOUR).read_bytes()))
    with pytest.raises(CorruptObjectError, match=problem) as failure:
        store_l2_hour(_bucket(endpoint, name), Lake(tmp_path), "BTC", HOUR)
    assert KEY in str(failure.value)
    assert _files_under(tmp_path) == []


def test_malformed_line_is_stored_raw_but_never_cleaned(real_data, archive_bucket, tmp_path):
    endpoint, name, client = archive_bucket
    lines = lz4.frame.decompress((real_data / REAL_L2_HOUR).read_bytes()).split(b"\n")
    lines[2000] = lines[2000][:-40]  # a line cut mid-object, as a recorder crash would leave it
    client.put_object(Bucket=name, Key=KEY, Body=lz4.frame.compress(b"\n".join(lines)))
    lake = Lake(tmp_path)
    assert store_l2_hour(_bucket(endpoint, name), lake, "BTC", HOUR).status == "stored"  # byte for byte, as published
    with pytest.raises(CorruptObjectError, match="malformed snapshot line") as failure:
        clean_l2_hour(lake, "BTC", HOUR)
    assert str(lake.raw_l2_path("BTC", HOUR)) in str(failure.value)
    assert not lake.clean_l2_path("BTC", HOUR).exists()


def test_rerun_is_idempotent_and_does_not_refetch(real_data, archive_bucket, tmp_path):
    endpoint, name, client = archive_bucket
    client.put_object(Bucket=name, Key=KEY, Body=(real_data / REAL_L2_HOUR).read_bytes())
    lake = Lake(tmp_path)
    with FaultProxy(endpoint) as proxy:
        source = _bucket(proxy.url, name)
        first = store_l2_hour(source, lake, "BTC", HOUR)
        clean_l2_hour(lake, "BTC", HOUR)
        clean_bytes = lake.clean_l2_path("BTC", HOUR).read_bytes()
        second = store_l2_hour(source, lake, "BTC", HOUR)
        clean_l2_hour(lake, "BTC", HOUR)
        assert proxy.gets == 1
    assert (first.status, second.status) == ("stored", "already_stored")
    assert first.facts == second.facts
    assert lake.clean_l2_path("BTC", HOUR).read_bytes() == clean_bytes
    assert [p.name for p in _files_under(tmp_path) if p.name.endswith(".tmp")] == []


def test_a_corrupt_stored_copy_is_set_aside_and_fetched_again(real_data, archive_bucket, tmp_path):
    endpoint, name, client = archive_bucket
    blob = (real_data / REAL_L2_HOUR).read_bytes()
    client.put_object(Bucket=name, Key=KEY, Body=blob)
    lake = Lake(tmp_path)
    store_l2_hour(_bucket(endpoint, name), lake, "BTC", HOUR)
    lake.raw_l2_path("BTC", HOUR).write_bytes(blob[: len(blob) // 3])  # e.g. a crash before the disk flushed
    outcome = store_l2_hour(_bucket(endpoint, name), lake, "BTC", HOUR)
    assert outcome.status == "stored"
    assert lake.raw_l2_path("BTC", HOUR).read_bytes() == blob
    set_aside = outcome.facts["set_aside_corrupt_copy"]
    assert ".lz4.corrupt-" in set_aside and len(open(set_aside, "rb").read()) == len(blob) // 3
