"""A task makes the round trip through a real worker process."""

import pytest

from sesame.tasks import ping


@pytest.mark.worker
def test_ping_round_trip_through_a_real_worker(celery_worker_process) -> None:
    result = ping.delay("bonjour").get(timeout=30)
    assert result["echo"] == "bonjour"
    assert result["database"].startswith("test_")
