"""The memory cap's own mechanics on this kernel: a child cgroup's limit kills what passes it, and a
file evicted from the page cache is charged to the cgroup that reads it next (one that was not is
free to it). Skipped, with the reason, where no child memory cgroup can be made."""

from __future__ import annotations

import subprocess
import sys

import pytest

from saevdb.adapters.cgroup import CgroupUnavailable, MemoryCgroup, evict
from saevdb.compare.capped import check_caps

MB = 1 << 20


@pytest.fixture
def cgroup():
    try:
        group = MemoryCgroup.child("saevdb-test")
    except CgroupUnavailable as e:
        pytest.skip(f"no child memory cgroup here: {e}")
    yield group
    group.remove()


def _run_inside(group: MemoryCgroup, code: str) -> subprocess.CompletedProcess:
    """Run `code` in a fresh interpreter that joins `group` before it starts the work."""
    child = subprocess.Popen([sys.executable, "-c", f"import sys; sys.stdin.readline(); {code}"], stdin=subprocess.PIPE)
    group.add(child.pid)
    child.communicate(b"go\n", timeout=60)
    return child


def test_a_cap_kills_what_passes_it(cgroup):
    cgroup.set_limit(40 * MB)
    child = _run_inside(cgroup, "x = bytearray(120 << 20); x[::4096] = b'1' * len(x[::4096])")
    assert child.returncode == -9
    assert cgroup.oom_kills() == 1
    assert cgroup.peak_bytes() <= 40 * MB


def test_an_evicted_file_is_charged_to_its_next_reader(cgroup, tmp_path):
    data = tmp_path / "data.bin"
    data.write_bytes(b"\1" * (32 * MB))  # cached, and charged to this process's cgroup
    read = f"open({str(data)!r}, 'rb').read()"
    _run_inside(cgroup, read)
    assert cgroup.stat()["cache"] < 4 * MB
    assert evict(tmp_path) == 32 * MB
    _run_inside(cgroup, read)
    assert cgroup.stat()["cache"] >= 30 * MB


def test_a_cap_below_the_empty_engine_is_refused_naming_both():
    with pytest.raises(ValueError, match="memory cap 20 MB is below the 31 MB the empty qdrant engine needs"):
        check_caps([400 * MB, 20 * MB], 31 * MB, "qdrant")
