"""Expected escalations per day for the next two weeks: the staffing forecast of the admins' reports.

The model is deliberately small, so an admin can check it by hand:

- **Weekday factors**: how busy each weekday is compared with the average day, measured over the
  last :data:`SEASON_WEEKS` whole weeks (every weekday sees the same weeks, so a trend does not
  bias one weekday). Escalations follow the contact rhythm: Mondays busy, weekends quiet.
- **Level and trend**: a straight line fitted (least squares) to the last :data:`LEVEL_DAYS`
  days with the weekday rhythm divided out; the level is the line's value on the last day. Its
  slope is damped (:data:`TREND_DAMPING`) before it is carried forward, because two months' slope
  is a noisy guess about the next two weeks (on synthetic weekly Poisson series, with and without
  growth, carrying the full slope forward lost accuracy; a window of 8 weeks beat 4 and 6).
- **Forecast** for day ``h`` ahead: ``(level + damped trend) * factor[weekday]``, never below 0.

It is judged against the **naive same-weekday baseline**: the last observed week repeated
(day ``d`` gets the count of the same weekday in the final week before the forecast), by
rolling-origin back-testing: the model and the baseline are fitted on the data before each of the
last ``folds`` 14-day windows and scored on that window, the same way (:func:`backtest`). The
interval around the forecast comes from the model's own back-test errors (:func:`forecast`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np

WEEK = 7
MIN_HISTORY_DAYS = 28  # four whole weeks: enough for a weekday rhythm and a level
SEASON_WEEKS = 26  # weekday factors from up to half a year of whole weeks
LEVEL_DAYS = 56  # level and trend from the last eight weeks
TREND_DAMPING = 0.25  # share of the fitted slope carried forward
INTERVAL = (10.0, 90.0)  # percentiles of the back-test errors: an 80% interval
DEFAULT_FOLDS = 6


class SeriesTooShort(ValueError):
    """The daily series is too short to fit the model (or to back-test it with one fold)."""


@dataclass(frozen=True)
class Errors:
    """Forecast errors pooled over every back-tested day.

    ``mape`` skips days with no escalations (a percentage of zero is undefined), so on sparse
    series read ``wape`` (total absolute error over total escalations) and ``smape`` (symmetric,
    a day where forecast and actual are both 0 counts as no error) too.
    """

    days: int
    mae: float
    mape: float | None
    smape: float
    wape: float | None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Backtest:
    horizon: int
    folds: int
    model: Errors
    naive: Errors

    @property
    def model_beats_naive(self) -> bool:
        return self.model.mae < self.naive.mae

    def as_dict(self) -> dict[str, Any]:
        return {"horizon": self.horizon, "folds": self.folds, "model": self.model.as_dict(),
                "naive": self.naive.as_dict(), "model_beats_naive": self.model_beats_naive}


@dataclass(frozen=True)
class ForecastDay:
    day: date
    expected: float
    low: float
    high: float

    def as_dict(self) -> dict[str, Any]:
        return {"day": self.day.isoformat(), "expected": self.expected, "low": self.low, "high": self.high}


def daily_counts(series: Mapping[date, float], *, until: date | None = None) -> tuple[date, np.ndarray]:
    """The series as one value per day from its first day to its last (or ``until``), missing days 0.

    A day without escalations has no row anywhere, so a gap is a zero, not a missing value.
    """
    if not series:
        raise SeriesTooShort("no days in the series")
    first, last = min(series), max(series)
    if until is not None:
        last = max(last, until)
    values = np.zeros((last - first).days + 1)
    for day, count in series.items():
        values[(day - first).days] = float(count)
    return first, values


def weekday_factors(values: np.ndarray, first_weekday: int) -> np.ndarray:
    """Seven multipliers (Monday first) averaging 1: weekday mean over the mean day, whole weeks only."""
    weeks = min(len(values) // WEEK, SEASON_WEEKS)
    window = values[len(values) - weeks * WEEK:]
    overall = window.mean() if weeks else 0.0
    if overall <= 0:
        return np.ones(WEEK)
    start = (first_weekday + len(values) - weeks * WEEK) % WEEK
    by_position = window.reshape(weeks, WEEK).mean(axis=0) / overall
    return np.roll(by_position, start)  # position 0 is weekday `start`; roll so index 0 is Monday


def predict(values: np.ndarray, first_weekday: int, horizon: int) -> np.ndarray:
    """The model's expected counts for the ``horizon`` days after ``values`` (first day's weekday given)."""
    if len(values) < MIN_HISTORY_DAYS:
        raise SeriesTooShort(f"the model needs at least {MIN_HISTORY_DAYS} days of history, got {len(values)}")
    factors = weekday_factors(values, first_weekday)
    span = min(LEVEL_DAYS, len(values))
    weekdays = (first_weekday + np.arange(len(values) - span, len(values))) % WEEK
    used = factors[weekdays] > 0  # a weekday that never had escalations says nothing about the level
    deseasonalised = values[-span:][used] / factors[weekdays][used]
    slope, intercept = np.polyfit(np.arange(span, dtype=float)[used], deseasonalised, 1)
    ahead = np.arange(1, horizon + 1)
    level = intercept + slope * (span - 1) + TREND_DAMPING * slope * ahead
    future_weekdays = (first_weekday + len(values) - 1 + ahead) % WEEK
    return np.clip(level * factors[future_weekdays], 0.0, None)


def naive_same_weekday(values: np.ndarray, horizon: int) -> np.ndarray:
    """The last observed week repeated: day ``h`` ahead gets the count seven (or 14, ...) days earlier."""
    if len(values) < WEEK:
        raise SeriesTooShort(f"the naive baseline needs a whole week, got {len(values)} days")
    last_week = values[-WEEK:]
    return last_week[np.arange(horizon) % WEEK]


def errors(actual: np.ndarray, predicted: np.ndarray) -> Errors:
    """MAE, MAPE (days with escalations), sMAPE and WAPE of ``predicted`` against ``actual``."""
    absolute = np.abs(actual - predicted)
    nonzero = actual > 0
    both = np.abs(actual) + np.abs(predicted)
    symmetric = np.divide(2 * absolute, both, out=np.zeros_like(absolute), where=both > 0)
    total = float(actual.sum())
    return Errors(days=len(actual), mae=round(float(absolute.mean()), 4),
                  mape=round(float((absolute[nonzero] / actual[nonzero]).mean()), 4) if nonzero.any() else None,
                  smape=round(float(symmetric.mean()), 4),
                  wape=round(float(absolute.sum()) / total, 4) if total > 0 else None)


def _folds(values: np.ndarray, horizon: int, folds: int) -> list[int]:
    """Forecast origins (index of the first day forecast) of the last ``folds`` windows that fit."""
    origins = [len(values) - horizon * (folds - i) for i in range(folds)]
    usable = [origin for origin in origins if origin >= MIN_HISTORY_DAYS]
    if not usable:
        raise SeriesTooShort(f"back-testing a {horizon}-day horizon needs at least "
                             f"{MIN_HISTORY_DAYS + horizon} days, got {len(values)}")
    return usable


def _backtest_arrays(values: np.ndarray, first_weekday: int, horizon: int, folds: int):
    actual, model, naive = [], [], []
    for origin in _folds(values, horizon, folds):
        history = values[:origin]
        actual.append(values[origin:origin + horizon])
        model.append(predict(history, first_weekday, horizon))
        naive.append(naive_same_weekday(history, horizon))
    return np.concatenate(actual), np.concatenate(model), np.concatenate(naive)


def backtest(series: Mapping[date, float], horizon: int = 14, folds: int = DEFAULT_FOLDS, *,
             until: date | None = None) -> Backtest:
    """Rolling-origin back-test over the last ``folds`` windows of ``horizon`` days.

    Each window is forecast from the days before it only, by the model and by the naive
    same-weekday baseline; errors are pooled over all windows. Windows whose history would be
    shorter than :data:`MIN_HISTORY_DAYS` are dropped (``folds`` in the result says how many ran).
    """
    first, values = daily_counts(series, until=until)
    actual, model, naive = _backtest_arrays(values, first.weekday(), horizon, folds)
    return Backtest(horizon=horizon, folds=len(actual) // horizon, model=errors(actual, model),
                    naive=errors(actual, naive))


def forecast(series: Mapping[date, float], days: int = 14, *, until: date | None = None,
             folds: int = DEFAULT_FOLDS) -> list[ForecastDay]:
    """Expected counts for the ``days`` days after the series (or after ``until``), with an 80% interval.

    The interval adds the 10th and 90th percentiles of the model's back-test errors (actual minus
    forecast, pooled) to each expected value, floored at 0. Without history enough for one
    back-test window it falls back to a Poisson approximation (``expected +- 1.28 * sqrt(expected)``).
    """
    first, values = daily_counts(series, until=until)
    expected = predict(values, first.weekday(), days)
    try:
        actual, model, _ = _backtest_arrays(values, first.weekday(), days, folds)
        low_error, high_error = np.percentile(actual - model, INTERVAL)
        low, high = np.minimum(expected, expected + low_error), np.maximum(expected, expected + high_error)
    except SeriesTooShort:
        spread = 1.28 * np.sqrt(expected)
        low, high = expected - spread, expected + spread
    start = first + timedelta(days=len(values))
    return [ForecastDay(day=start + timedelta(days=i), expected=round(float(expected[i]), 2),
                        low=round(max(0.0, float(low[i])), 2), high=round(max(0.0, float(high[i])), 2))
            for i in range(days)]
