"""Sweeps on an executor (process pool, Dask): split by model, rows equal to the local run's, in its order."""

from __future__ import annotations

import math
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

import pytest

from infereco import sweep
from infereco.errors import SpecError

ARGS = (["llama-3-8b", "qwen3-30b-a3b"], ["h100-sxm", "b200"], [1000, 8000], [1.5, 2.5])


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a) and math.isnan(b):
        return True
    return a == b


def _assert_equal_rows(got, want):
    assert len(got.rows) == len(want.rows)
    for r, w in zip(got.rows, want.rows):
        assert r.keys() == w.keys()
        bad = [k for k in r if not _same(r[k], w[k])]
        assert not bad, (r["model"], r["hardware"], bad)
    assert got.frontiers.keys() == want.frontiers.keys()


@pytest.fixture(scope="module")
def local():
    return sweep(*ARGS, progress=False)


def test_process_pool_rows_equal_the_local_run(local):
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("spawn")) as pool:
        got = sweep(*ARGS, progress=False, executor=pool)
    _assert_equal_rows(got, local)
    key = next(iter(local.frontiers))
    assert got.frontiers[key].to_records() == local.frontiers[key].to_records()


def test_dask_local_cluster_rows_equal_the_local_run(local):
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        got = sweep(*ARGS, progress=False, executor=client.get_executor())
    _assert_equal_rows(got, local)


def test_not_an_executor_is_one_line():
    with pytest.raises(SpecError, match="concurrent.futures-style executor"):
        sweep("llama-3-8b", "h100-sxm", executor=object())
