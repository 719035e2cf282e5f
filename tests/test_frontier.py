"""Frontier extraction: O(n log n) Pareto set, the reference threshold scan, and the device-side selection."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from infereco.search.select import pareto_candidates, pareto_indices, threshold_scan_indices, threshold_select

points = st.lists(st.tuples(st.floats(1e-4, 1.0), st.floats(1e-3, 1e3)), min_size=1, max_size=300)


def _arrays(pts):
    a = np.asarray(pts, float)
    return a[:, 0], a[:, 1]


def _brute_threshold_scan(lat, cost, thresholds):
    chosen = []
    for t in thresholds:
        ok = lat < t
        if not ok.any():
            continue
        c = np.where(ok, cost, np.inf)
        best = np.flatnonzero(c == c.min())
        i = best[np.argmin(lat[best])]
        if i not in chosen:
            chosen.append(i)
    return np.asarray(chosen, int)


@settings(max_examples=200, deadline=None)
@given(points)
def test_pareto_set_is_non_dominated_sorted_and_complete(pts):
    lat, cost = _arrays(pts)
    idx = pareto_indices(lat, cost)
    fl, fc = lat[idx], cost[idx]
    assert np.all(np.diff(fl) >= 0) and np.all(np.diff(fc) < 0)  # fastest first, each slower point cheaper
    for i in range(len(lat)):
        dominated = np.any((lat <= lat[i]) & (cost <= cost[i]) & ((lat < lat[i]) | (cost < cost[i])))
        on = i in set(idx.tolist())
        if on:
            assert not dominated
        elif not dominated:  # a duplicate of a frontier point
            assert any((lat[j] == lat[i]) and (cost[j] == cost[i]) for j in idx)


@settings(max_examples=200, deadline=None)
@given(points)
def test_threshold_scan_equals_brute_force(pts):
    lat, cost = _arrays(pts)
    thr = 10.0 ** np.linspace(-4, 0, 60)
    np.testing.assert_array_equal(
        threshold_scan_indices(lat, cost, thr), _brute_threshold_scan(lat, cost, thr)
    )


@settings(max_examples=100, deadline=None)
@given(points)
def test_device_threshold_select_equals_numpy(pts):
    lat, cost = _arrays(pts)
    thr = 10.0 ** np.linspace(-4, 0, 60)
    chosen = np.asarray(threshold_select(jnp.asarray(lat), jnp.asarray(cost), jnp.asarray(thr)))
    chosen = chosen[chosen >= 0]
    _, first = np.unique(chosen, return_index=True)
    device = chosen[np.sort(first)]
    ref = threshold_scan_indices(lat, cost, thr)
    # Equal (latency, cost) duplicates may resolve to different indices; compare the points themselves.
    np.testing.assert_array_equal(lat[device], lat[ref])
    np.testing.assert_array_equal(cost[device], cost[ref])


@settings(max_examples=100, deadline=None)
@given(points)
def test_device_pareto_prefilter_keeps_every_frontier_point(pts):
    lat, cost = _arrays(pts)
    mask = np.asarray(pareto_candidates(jnp.asarray(lat), jnp.asarray(cost), n_buckets=16))
    sub = np.flatnonzero(mask)
    got = sub[pareto_indices(lat[sub], cost[sub])]
    ref = pareto_indices(lat, cost)
    np.testing.assert_array_equal(lat[got], lat[ref])
    np.testing.assert_array_equal(cost[got], cost[ref])


def test_infinite_points_never_reach_a_frontier():
    lat = np.array([np.inf, 0.01, 0.02, np.nan])
    cost = np.array([1.0, 2.0, 1.0, 0.5])
    assert pareto_indices(lat, cost).tolist() == [1, 2]
