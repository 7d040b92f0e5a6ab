"""In development, every worker of a fresh data dir reads the one secret generated for it."""

import threading

from pydantic import SecretStr

from auth.keys import service_secret


def _secrets_read_at_once(settings, workers: int) -> list[bytes]:
    start = threading.Barrier(workers)
    read: list[bytes] = []

    def worker() -> None:
        start.wait()
        read.append(service_secret(settings, None, "qr-secret", "HEALTHGRAPH_QR_SECRET"))

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return read


def test_workers_starting_together_share_one_whole_secret(settings, tmp_path):
    for attempt in range(20):
        fresh = settings.model_copy(update={"data_dir": tmp_path / str(attempt)})

        read = _secrets_read_at_once(fresh, workers=8)

        assert len(set(read)) == 1
        assert len(read[0]) >= 32
        assert sorted(p.name for p in fresh.data_dir.iterdir()) == ["qr-secret"]


def test_a_configured_secret_is_used_as_it_is(settings):
    assert service_secret(settings, SecretStr("s" * 20), "qr-secret", "X") == b"s" * 20
