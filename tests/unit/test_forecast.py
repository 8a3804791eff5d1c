"""The staffing forecast: expected escalations per day, back-tested against the naive same-weekday baseline."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from crm_store.scoring import forecast as fc

MONDAY = date(2025, 6, 2)
RHYTHM = (1.3, 1.12, 1.0, 1.0, 0.95, 0.62, 0.7)  # Monday busiest, weekends quiet


def seasonal(days: int, mean: float = 8.0, seed: int = 0, trend: float = 0.0) -> dict[date, int]:
    """Poisson counts around ``mean`` (growing by ``trend`` a day) with the weekly rhythm."""
    rng = np.random.default_rng(seed)
    series = {}
    for i in range(days):
        day = MONDAY + timedelta(days=i)
        series[day] = int(rng.poisson((mean + trend * i) * RHYTHM[day.weekday()]))
    return series


def test_on_noisy_weekly_series_the_model_beats_the_naive_same_weekday_baseline():
    results = [fc.backtest(seasonal(240, seed=seed), horizon=14, folds=6) for seed in range(5)]
    assert all(r.folds == 6 and r.model.days == r.naive.days == 84 for r in results)
    assert sum(r.model_beats_naive for r in results) >= 4  # 84 noisy days can favour the baseline by luck
    assert np.mean([r.model.mae for r in results]) < 0.9 * np.mean([r.naive.mae for r in results])
    assert np.mean([r.model.smape for r in results]) < np.mean([r.naive.smape for r in results])


def test_on_a_growing_weekly_series_the_model_still_beats_the_baseline():
    results = [fc.backtest(seasonal(240, seed=seed, trend=0.05)) for seed in range(5)]
    assert np.mean([r.model.mae for r in results]) < 0.9 * np.mean([r.naive.mae for r in results])


def test_the_model_learns_the_weekday_rhythm():
    factors = fc.weekday_factors(np.array([float(v) for v in seasonal(26 * 7, mean=50).values()]), MONDAY.weekday())
    assert factors.mean() == pytest.approx(1.0)
    assert np.argmax(factors) == 0 and np.argmin(factors) == 5  # Monday highest, Saturday lowest
    assert factors == pytest.approx(np.array(RHYTHM) / np.mean(RHYTHM), abs=0.08)


def test_a_series_starting_midweek_keeps_its_weekdays_straight():
    midweek = {day: count for day, count in seasonal(200, mean=50).items() if day >= MONDAY + timedelta(days=3)}
    expected = fc.forecast(midweek, days=7)
    monday = next(day for day in expected if day.day.weekday() == 0)
    saturday = next(day for day in expected if day.day.weekday() == 5)
    assert monday.expected > 1.5 * saturday.expected


def test_a_flat_series_is_forecast_flat_and_matched_exactly():
    flat = {MONDAY + timedelta(days=i): 5 for i in range(120)}
    days = fc.forecast(flat, days=14)
    assert [d.expected for d in days] == [5.0] * 14
    assert all(d.low == d.high == 5.0 for d in days)  # no back-test error, so no spread
    result = fc.backtest(flat)
    assert result.model.mae == result.naive.mae == 0.0 and result.model.smape == 0.0


def test_the_forecast_covers_the_next_days_with_an_interval_around_the_expected_value():
    series = seasonal(240, seed=4)
    days = fc.forecast(series, days=14)
    last = max(series)
    assert [d.day for d in days] == [last + timedelta(days=i) for i in range(1, 15)]
    assert all(0 <= d.low <= d.expected <= d.high for d in days)
    assert any(d.high > d.low for d in days)
    assert days[0].as_dict()["day"] == (last + timedelta(days=1)).isoformat()


def test_days_without_escalations_count_as_zero_and_the_forecast_can_start_later():
    series = {day: count for day, count in seasonal(120, mean=3, seed=5).items() if count}
    first, values = fc.daily_counts(series)
    assert len(values) == (max(series) - first).days + 1 and (values == 0).any()
    until = max(series) + timedelta(days=3)
    assert fc.forecast(series, days=14, until=until)[0].day == until + timedelta(days=1)


def test_forecast_counts_are_never_negative_even_on_a_falling_series():
    falling = {MONDAY + timedelta(days=i): max(0, 40 - i) for i in range(60)}
    assert all(d.expected >= 0 and d.low >= 0 for d in fc.forecast(falling, days=14))


def test_a_growing_series_is_forecast_above_its_recent_average():
    growing = seasonal(200, mean=10, trend=0.1, seed=6)
    recent = np.mean(list(growing.values())[-28:])
    assert np.mean([d.expected for d in fc.forecast(growing, days=14)]) > recent


def test_short_series_are_refused_with_a_clear_message():
    with pytest.raises(fc.SeriesTooShort, match="at least 28 days"):
        fc.forecast(seasonal(20))
    with pytest.raises(fc.SeriesTooShort, match="needs at least 42 days"):
        fc.backtest(seasonal(35), horizon=14)
    with pytest.raises(fc.SeriesTooShort, match="no days"):
        fc.backtest({})


def test_a_series_long_enough_to_forecast_but_not_to_back_test_gets_a_poisson_interval():
    days = fc.forecast(seasonal(30, mean=9, seed=7), days=14)
    assert all(d.low < d.expected < d.high for d in days if d.expected > 0)


def test_backtest_drops_windows_without_enough_history():
    result = fc.backtest(seasonal(28 + 14 * 3), horizon=14, folds=6)
    assert result.folds == 3


def test_errors_are_measured_the_same_way_for_both():
    actual, predicted = np.array([0.0, 2.0, 4.0]), np.array([0.0, 1.0, 6.0])
    measured = fc.errors(actual, predicted)
    assert measured.mae == pytest.approx(1.0)
    assert measured.mape == pytest.approx(0.5)  # (1/2 + 2/4) / 2: the zero day has no percentage
    assert measured.smape == pytest.approx((0 + 2 / 3 + 0.4) / 3, abs=1e-4)
    assert measured.wape == pytest.approx(0.5)
