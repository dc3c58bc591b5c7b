"""512 concurrent clients for 20 s on loopback: every request answered, memory bounded, quick recovery."""

import shutil

import pytest

from bench.overload import run


@pytest.mark.slow
@pytest.mark.skipif(not shutil.which("hey"), reason="needs Debian's `hey` load generator (make test installs it)")
def test_overload_is_answered_or_shed_and_the_service_recovers():
    r = run(clients=512, duration=20, max_queue=64)
    print(r)
    assert set(r["statuses"]) <= {200, 503} and r["statuses"].get(200, 0) > 0, r
    assert r["transport_errors"] == 0, "no connection resets or timeouts"
    assert r["peak_rss_mb"] < 1500
    assert r["recovery_s"] is not None and r["recovery_s"] < 5, r
    assert r["burst_503"] > 0 and r["burst_503_with_retry_after"] == r["burst_503"], r
    assert set(r["burst_statuses"]) <= {200, 503} and r["alive"]
