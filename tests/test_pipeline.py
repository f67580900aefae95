"""The encode-while-uploading pipeline shared by SparseCollection, ingest and compare (no engine)."""

import io
import threading

import pytest
from tqdm.auto import tqdm

from saevdb.pipeline import pipelined


def test_every_batch_is_prepared_then_sent_in_order():
    sent, threads = [], set()

    def send(batch, prepared):
        threads.add(threading.get_ident())
        sent.append((batch, prepared))
        return 1

    with tqdm(file=io.StringIO()) as bar:
        pipelined(range(5), lambda b: b * 10, send, bar)
    assert sent == [(b, b * 10) for b in range(5)] and threading.get_ident() not in threads
    assert bar.n == 5


def test_a_failing_batch_lets_the_one_before_it_finish_first():
    sent = []
    release = threading.Event()

    def send(batch, prepared):
        release.wait(5)  # still uploading when the next batch fails
        sent.append(batch)
        return 1

    def prepare(batch):
        if batch == 2:
            release.set()
            raise ValueError("batch 2 is bad")
        return batch

    with tqdm(disable=True) as bar, pytest.raises(ValueError, match="batch 2"):
        pipelined(range(4), prepare, send, bar)
    assert sent == [0, 1]


def test_an_upload_error_stops_the_pipeline():
    def send(batch, prepared):
        if batch == 1:
            raise RuntimeError("engine refused batch 1")
        return 1

    with tqdm(disable=True) as bar, pytest.raises(RuntimeError, match="batch 1"):
        pipelined(range(10), lambda b: b, send, bar)
