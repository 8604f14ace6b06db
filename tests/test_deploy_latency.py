"""Latency helpers (nearest-rank percentiles, repeated timing, batching sweep) and the percentile checker."""

import math

import numpy as np
import pytest

from genai_course.deploy.latency import Latency, batching_sweep, measure_latency, percentile
from genai_course.exercises.deployment import check_percentile_latency


def test_nearest_rank_by_hand():
    times = [5.0, 1.0, 4.0, 2.0, 3.0]  # sorted: 1 2 3 4 5
    assert percentile(times, 50) == 3.0  # ⌈2.5⌉ = 3rd
    assert percentile(times, 40) == 2.0  # 0.4 · 5 = 2 exactly: the 2nd, not the 3rd
    assert percentile(times, 95) == 5.0
    assert percentile(times, 100) == 5.0
    assert percentile(times, 1) == 1.0
    assert percentile([7.0], 95) == 7.0


def test_nearest_rank_is_always_a_measured_time_unlike_interpolation():
    times = list(np.random.default_rng(0).exponential(10.0, size=37))
    for q in (50, 90, 95, 99):
        assert percentile(times, q) in times
    assert percentile(times, 95) != pytest.approx(float(np.percentile(times, 95)))
    assert percentile(times, 95) == float(np.percentile(times, 95, method="inverted_cdf"))


@pytest.mark.parametrize("q", [0, -5, 101, 0.0])
def test_bad_q_is_rejected(q):
    with pytest.raises(ValueError, match="percentage"):
        percentile([1.0, 2.0], q)


def test_empty_times_are_rejected():
    with pytest.raises(ValueError, match="at least one"):
        percentile([], 50)


def test_measure_latency_calls_warmup_then_repeats():
    calls = []
    lat = measure_latency(lambda: calls.append(1), repeats=5, warmup=2)
    assert len(calls) == 7 and len(lat.times) == 5
    assert all(t >= 0 for t in lat.times)
    assert lat.p50_ms <= lat.p95_ms and "p95" in repr(lat)


def test_latency_summaries_are_in_milliseconds():
    lat = Latency([0.010, 0.020, 0.030, 0.040])
    assert (
        lat.p50_ms == pytest.approx(20.0) and lat.p95_ms == pytest.approx(40.0) and lat.mean_ms == pytest.approx(25.0)
    )


def test_measure_latency_rejects_bad_arguments():
    with pytest.raises(TypeError, match="callable"):
        measure_latency(3)
    with pytest.raises(ValueError, match="repeats"):
        measure_latency(lambda: None, repeats=0)


def test_batching_sweep_rows():
    seen = []
    rows = batching_sweep(lambda b: seen.append(b), [1, 4], repeats=2, warmup=1)
    assert seen == [1, 1, 1, 4, 4, 4]
    assert [r["batch"] for r in rows] == [1, 4]
    for r in rows:
        assert math.isclose(r["throughput"], r["batch"] / (r["latency_ms"] / 1000))
    with pytest.raises(ValueError, match="positive integers"):
        batching_sweep(lambda b: None, [0])


# --- the graded exercise's checker ---------------------------------------------------------------


def reference(times, q):
    values = sorted(times)
    return values[math.ceil(q / 100 * len(values)) - 1]


def test_reference_and_library_pass():
    assert check_percentile_latency(reference)
    assert check_percentile_latency(percentile)


def test_not_attempted():
    def percentile_latency(times, q):
        raise NotImplementedError()

    fb = check_percentile_latency(percentile_latency)
    assert not fb and "Not attempted" in fb.message


def test_interpolation_is_rejected_with_a_hint():
    fb = check_percentile_latency(lambda times, q: float(np.percentile(times, q)))
    assert not fb and "interpolate" in fb.message


def test_unsorted_times_are_rejected():
    fb = check_percentile_latency(lambda times, q: times[math.ceil(q / 100 * len(times)) - 1])
    assert not fb and "sort" in fb.message


def test_zero_based_floor_index_is_one_rank_too_slow():
    fb = check_percentile_latency(lambda times, q: sorted(times)[min(int(q / 100 * len(times)), len(times) - 1)])
    assert not fb and "too slow" in fb.message


def test_rounding_down_is_one_rank_too_fast():
    fb = check_percentile_latency(lambda times, q: sorted(times)[max(int(q / 100 * len(times)), 1) - 1])
    assert not fb and "too fast" in fb.message and "ceil" in fb.message


def test_non_number_and_crash_are_reported():
    fb = check_percentile_latency(lambda times, q: "fast")
    assert not fb and "expected a number" in fb.message
    fb = check_percentile_latency(lambda times, q: sorted(times)[math.ceil(q * len(times))])
    assert not fb and "IndexError" in fb.message


def _x0_target_solution(z_t, z_end, alpha_t, sigma_t, alpha_end, sigma_end):
    ratio = sigma_end / sigma_t
    return (z_end - ratio * z_t) / (alpha_end - ratio * alpha_t)


def test_distill_target_checker_passes_the_solution_and_names_common_mistakes():
    from genai_course.exercises.deployment import check_distill_target

    assert check_distill_target(_x0_target_solution).passed

    def numerator_only(z_t, z_end, a_t, s_t, a_e, s_e):
        return z_end - (s_e / s_t) * z_t

    def ratio_upside_down(z_t, z_end, a_t, s_t, a_e, s_e):
        return (z_end - (s_t / s_e) * z_t) / (a_e - (s_t / s_e) * a_t)

    def flattened(z_t, z_end, a_t, s_t, a_e, s_e):
        return _x0_target_solution(z_t, z_end, a_t, s_t, a_e, s_e).flatten(1)

    def unfinished(*args):
        raise NotImplementedError

    assert "numerator" in check_distill_target(numerator_only).message
    assert "upside down" in check_distill_target(ratio_upside_down).message
    assert "expected (4, 1, 4, 4)" in check_distill_target(flattened).message
    assert "Not attempted" in check_distill_target(unfinished).message
    assert not check_distill_target(lambda *args: args[1]).passed  # z_end itself is right only at the last step
