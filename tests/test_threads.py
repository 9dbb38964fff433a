"""seqprep's thread policy: the threshold, the override, the cores, the pool, and what it leaves untouched."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import seqprep
from seqprep import _threads as T
from seqprep.exceptions import InvalidParameterError

MIB = 1 << 20


@pytest.fixture(autouse=True)
def _machine(monkeypatch):
    """A quiet 4-core machine, no override: each test changes what it checks."""
    monkeypatch.delenv("SEQPREP_THREADS", raising=False)
    monkeypatch.delenv("SEQPREP_NUM_THREADS", raising=False)
    monkeypatch.setattr(T, "usable_cores", lambda: 4)
    monkeypatch.setattr(T, "free_cores", lambda: 4)


def test_one_thread_below_the_threshold_then_one_per_mib_up_to_the_cores():
    assert T.threads_for(0) == 1
    assert T.threads_for(T.PARALLEL_MIN_BYTES - 1) == 1
    assert T.threads_for(T.PARALLEL_MIN_BYTES) == 1  # one MiB per thread: a second needs 2 MiB
    assert T.threads_for(2 * MIB) == 2
    assert T.threads_for(3 * MIB) == 3
    assert T.threads_for(1 << 30) == 4  # the usable cores
    assert T.threads_for(1 << 30, automatic=False) == 1  # a pass whose threads have not been shown to pay ...
    with seqprep.set_threads(3):
        assert T.threads_for(1 << 30, automatic=False) == 3  # ... takes them only when asked


def test_busy_cores_and_other_threads_get_one(monkeypatch):
    monkeypatch.setattr(T, "free_cores", lambda: 1)
    assert T.threads_for(1 << 30) == 1
    monkeypatch.setattr(T, "free_cores", lambda: 4)
    seen = []
    worker = threading.Thread(target=lambda: seen.append(T.threads_for(1 << 30)))
    worker.start()
    worker.join()
    assert seen == [1]  # inside someone's pool (a Dask task): that pool is the parallelism


def test_free_cores_reads_the_load(monkeypatch):
    monkeypatch.undo()
    monkeypatch.setattr(T, "usable_cores", lambda: 2)
    for load, expected in (((0.05, 1), 2), ((1.9, 2), 1), ((7.5, 9), 1), ((0.2, 3), 1)):
        monkeypatch.setattr(T, "_read_load", lambda load=load: load)
        T._state["load"] = (-np.inf, (1, 1))  # forget the cached reading
        assert T.free_cores() == expected, load
    monkeypatch.setattr(T, "_read_load", lambda: None)
    T._state["load"] = (-np.inf, (1, 1))
    assert T.free_cores() == 2
    T._state["load"] = (-np.inf, (1, 1))


def test_usable_cores_follow_the_affinity_and_the_quota(monkeypatch):
    import os

    monkeypatch.undo()
    if not hasattr(os, "sched_getaffinity"):
        pytest.skip("no sched_getaffinity here")
    assert 1 <= T.usable_cores() <= len(os.sched_getaffinity(0))
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: {0, 1, 2, 3, 4, 5})
    monkeypatch.setattr(T, "_cgroup_quota", lambda: None)
    assert T.usable_cores() == 6
    monkeypatch.setattr(T, "_cgroup_quota", lambda: 2)  # a container allowed two CPUs' time
    assert T.usable_cores() == 2


def test_set_threads_caps_and_restores(monkeypatch):
    assert seqprep.get_threads() == 4
    with seqprep.set_threads(1):
        assert seqprep.get_threads() == 1
        assert T.threads_for(1 << 30) == 1
        with seqprep.set_threads(8):  # an override may go beyond the usable cores ...
            assert T.threads_for(1 << 30) == 8
            assert T.threads_for(MIB // 2) == 1  # ... but small work stays on one thread
        assert T.threads_for(1 << 30) == 1
    assert T.threads_for(1 << 30) == 4
    seqprep.set_threads(2)  # a plain call holds until changed
    try:
        assert T.threads_for(1 << 30) == 2
    finally:
        seqprep.set_threads(None)
    assert T.threads_for(1 << 30) == 4


def test_environment_variable_and_its_older_name(monkeypatch):
    monkeypatch.setenv("SEQPREP_NUM_THREADS", "3")
    assert T.threads_for(1 << 30) == 3
    monkeypatch.setenv("SEQPREP_THREADS", "1")
    assert T.threads_for(1 << 30) == 1 and seqprep.get_threads() == 1
    with seqprep.set_threads(2):  # the call wins over the environment
        assert T.threads_for(1 << 30) == 2
    monkeypatch.setenv("SEQPREP_THREADS", "two")
    with pytest.raises(InvalidParameterError, match=r"`SEQPREP_THREADS` must be a positive integer\. Received"):
        T.threads_for(1 << 30)


@pytest.mark.parametrize("bad", [0, -1, 1.5, "2", True])
def test_set_threads_refuses_bad_values(bad):
    with pytest.raises(InvalidParameterError, match=r"`n` must be a positive integer or None\. Received: n="):
        seqprep.set_threads(bad)
    assert seqprep.get_threads() == 4  # nothing changed


def test_thread_limit_is_local_to_the_thread():
    with T.thread_limit(1):
        assert T.threads_for(1 << 30) == 1
        seen = []
        worker = threading.Thread(target=lambda: seen.append(T.override()))
        worker.start()
        worker.join()
        assert seen == [None]
    assert T.override() is None


def test_training_threads_one_for_small_models():
    assert T.training_threads(30_000, 64, 14) == 1  # the demo's CNN-LSTM
    assert T.training_threads(200_000, 16, 1460) == 2  # long series, a wide model: half the usable cores
    assert T.training_threads(200_000, 16, 100) == 1
    with seqprep.set_threads(3):  # an override may ask for more than half
        assert T.training_threads(200_000, 16, 1460) == 3


def test_training_threads_leave_half_the_cores(monkeypatch):
    monkeypatch.setattr(T, "usable_cores", lambda: 2)
    assert T.training_threads(10**9, 64, 10_000) == 1  # a 2-core machine trains on one thread by default
    monkeypatch.setattr(T, "usable_cores", lambda: 16)
    assert T.training_threads(10**9, 64, 10_000) == T.MAX_AUTO_THREADS
    monkeypatch.setattr(T, "usable_cores", lambda: 1)
    assert T.training_threads(10**9, 64, 10_000) == 1


def test_training_threads_never_read_the_load(monkeypatch):
    monkeypatch.setattr(T, "free_cores", lambda: 1)
    assert T.training_threads(200_000, 16, 1460) == 2


def test_run_parts_keeps_the_order_and_raises():
    assert T.run_parts(lambda i: i * i, 9, 3) == [i * i for i in range(9)]
    assert T.run_parts(lambda i: i, 2, 8) == [0, 1]

    def boom(i):
        if i == 4:
            raise ValueError("part 4")
        return i

    with pytest.raises(ValueError, match="part 4"):
        T.run_parts(boom, 6, 3)


def test_one_blas_thread_restores_the_limit():
    threadpoolctl = pytest.importorskip("threadpoolctl")
    before = [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
    with T.one_blas_thread(), T.one_blas_thread():
        inside = [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
    after = [i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"]
    assert all(n == 1 for n in inside)
    assert after == before


def test_a_pooled_gather_leaves_torch_alone(monkeypatch):
    torch = pytest.importorskip("torch")
    import seqprep.windowing._windows as wmod

    data = np.random.default_rng(0).standard_normal((2000, 8)).astype(np.float32)
    w = seqprep.windows(data, lookback=16, target=0)
    before = torch.get_num_threads()
    monkeypatch.setattr(wmod, "threads_for", lambda nbytes, **kw: 3)
    monkeypatch.setattr(wmod, "_PART_BYTES", 1024)
    idx = np.random.default_rng(1).permutation(len(w))[:300]
    X, y = w[idx]
    assert torch.get_num_threads() == before
    monkeypatch.setattr(wmod, "threads_for", lambda nbytes, **kw: 1)
    X1, y1 = w[idx]
    np.testing.assert_array_equal(X, X1)
    np.testing.assert_array_equal(y, y1)


def test_pooled_gather_casts_to_the_output_dtype(monkeypatch):
    import seqprep.windowing._windows as wmod

    frames = np.arange(40 * 6, dtype=np.uint8).reshape(40, 6)
    w = seqprep.windows(frames, lookback=5, horizon=0)
    monkeypatch.setattr(wmod, "threads_for", lambda nbytes, **kw: 4)
    monkeypatch.setattr(wmod, "_PART_BYTES", 64)
    X = w[np.arange(len(w))[::-1]]
    assert X.dtype == np.float32
    np.testing.assert_array_equal(X[-1], frames[:5].astype(np.float32))


def test_moments_do_not_depend_on_the_thread_count():
    from seqprep.scaling import _moments as M

    x = (1e3 + np.random.default_rng(7).standard_normal((M.PARALLEL_MIN_ROWS + 4321, 3))).astype(np.float32)
    with seqprep.set_threads(1):
        one = M.array_moments(x)
    with seqprep.set_threads(3):
        three = M.array_moments(x)
    for a, b in ((one.mean, three.mean), (one.m2, three.m2), (one.min, three.min), (one.count, three.count)):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(one.mean, x.astype(np.float64).mean(axis=0), rtol=1e-12)


def test_the_gather_uses_the_pool_only_when_asked(monkeypatch):
    import seqprep.windowing._windows as wmod

    used = []
    real = wmod.run_parts
    monkeypatch.setattr(wmod, "run_parts", lambda fn, n, threads: used.append(threads) or real(fn, n, threads))
    data = np.zeros((20_000, 32), dtype=np.float32)
    w = seqprep.windows(data, lookback=64)
    idx = np.arange(256)  # 2 MiB: by size, two threads
    w[idx]
    assert used == []  # the automatic policy gathers in one thread, even with free cores (docs/performance.md)
    with seqprep.set_threads(4):
        w[idx]
    assert used == [2]
