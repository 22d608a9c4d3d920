"""Speed of the SLA calendar engine (run: ``.venv/bin/python -m benchmarks.bench_calendar``).

SoftOne calendar (weekdays 08-12 + 13-16 Europe/Stockholm, Swedish public holidays, eve hours
08-13), 10,000 random starts over 2026-2027, targets of 1-5,000 business minutes. The
baseline is the naive day-by-day walker used as the test oracle (``tests/sla/oracle.py``).
Timings are wall-clock on whatever machine runs this; tests never assert on them.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

from sla.calendar import BusinessCalendar
from tests.sla.oracle import Oracle

SOFTONE: dict[str, Any] = {
    "timezone": "Europe/Stockholm",
    "week": {d: ["08:00-12:00", "13:00-16:00"] for d in ["mon", "tue", "wed", "thu", "fri"]},
    "holidays": {"country": "SE"},
    "eve_hours": ["08:00-13:00"],
}
N_CALLS = 10_000
N_BASELINE = 300
N_BULK = 1_000_000
LO = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
HI = datetime(2028, 1, 1, tzinfo=UTC).timestamp()


def check(ok: bool, what: str) -> None:
    # Not ``assert``: a benchmark must not quietly skip its correctness checks under -O.
    if not ok:
        raise SystemExit(f"benchmark check failed: {what}")


def per_call_ns(fn: Callable[..., Any], args: list[tuple[Any, ...]]) -> list[int]:
    clock = time.perf_counter_ns
    out = []
    for a in args:
        t0 = clock()
        fn(*a)
        out.append(clock() - t0)
    return out


def timer_overhead_ns() -> float:
    clock = time.perf_counter_ns
    samples = []
    for _ in range(10_000):
        t0 = clock()
        samples.append(clock() - t0)
    return statistics.median(samples)


def best_of(fn: Callable[[], Any], repeat: int = 3) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def fmt_time(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.2f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds:.2f} s"


def main() -> None:
    rng = random.Random(20260430)
    tz = BusinessCalendar.from_dict(SOFTONE).timezone
    starts = [datetime.fromtimestamp(round(rng.uniform(LO, HI)), tz) for _ in range(N_CALLS)]
    durations = [timedelta(minutes=rng.randint(1, 5000)) for _ in range(N_CALLS)]
    rows: list[tuple[str, str, str, str, str]] = []

    # ---- building ---------------------------------------------------------------------
    def build() -> BusinessCalendar:
        cal = BusinessCalendar.from_dict(SOFTONE, cache=False)
        cal.between(datetime(2026, 1, 1, tzinfo=tz), datetime(2027, 12, 31, 23, tzinfo=tz))
        return cal

    build_s = best_of(build, 15) / 2  # best of 15: the machine is shared, spikes are noise
    # No baseline: the naive walker compiles nothing, so a ratio would compare different work.
    rows.append(("build + compile, per year (best of 15)", fmt_time(build_s), "-", "-", "< 5 ms"))
    BusinessCalendar.from_dict(SOFTONE)
    cached_s = best_of(lambda: [BusinessCalendar.from_dict(SOFTONE) for _ in range(1000)]) / 1000
    rows.append(("from_dict, cached", fmt_time(cached_s), "-", "-", "(memoised)"))

    # ---- scalar add / between ---------------------------------------------------------
    cal = BusinessCalendar.from_dict(SOFTONE)
    oracle = Oracle(SOFTONE)
    ends = [cal.add(s, d) for s, d in zip(starts, durations, strict=True)]  # also warms up
    overhead = timer_overhead_ns()
    add_ns = statistics.median(per_call_ns(cal.add, list(zip(starts, durations, strict=True))))
    between_ns = statistics.median(per_call_ns(cal.between, list(zip(starts, ends, strict=True))))
    add_loop = best_of(lambda: [cal.add(s, d) for s, d in zip(starts, durations, strict=True)])
    sample = rng.sample(range(N_CALLS), N_BASELINE)
    naive_add_ns = statistics.median(
        per_call_ns(oracle.add, [(starts[i], durations[i]) for i in sample])
    )
    naive_between_ns = statistics.median(
        per_call_ns(oracle.between, [(starts[i], ends[i]) for i in sample])
    )
    for i in sample:  # the engine agrees with the naive walker on every sampled call
        got = oracle.add(starts[i], durations[i])
        check(got.timestamp() == ends[i].timestamp(), f"add {starts[i]} {durations[i]}")
        check(oracle.between(starts[i], ends[i]) == durations[i], f"between {starts[i]}")
    rows.append(
        (
            "add(), median per call",
            fmt_time(add_ns / 1e9),
            fmt_time(naive_add_ns / 1e9),
            f"{naive_add_ns / add_ns:.0f}x",
            "< 3 µs",
        )
    )
    rows.append(
        (
            "between(), median per call",
            fmt_time(between_ns / 1e9),
            fmt_time(naive_between_ns / 1e9),
            f"{naive_between_ns / between_ns:.0f}x",
            "< 3 µs",
        )
    )
    rows.append(
        (
            "add(), mean of a 10k loop, best of 3",
            fmt_time(add_loop / N_CALLS),
            "-",
            "-",
            "(no timer cost)",
        )
    )

    # ---- bulk -------------------------------------------------------------------------
    nrng = np.random.default_rng(20260430)
    a = np.round(nrng.uniform(LO, HI, N_BULK))
    d = nrng.integers(1, 5001, N_BULK).astype(np.float64) * 60
    add_many_s = best_of(lambda: cal.add_many(a, d))
    res = cal.add_many(a, d)
    between_many_s = best_of(lambda: cal.between_many(a, res))
    idx = nrng.choice(N_BULK, 2000, replace=False)
    worst = 0.0
    for i in idx:
        s = datetime.fromtimestamp(a[i], tz)
        want = cal.add(s, timedelta(seconds=float(d[i])))
        worst = max(worst, abs(res[i] - want.timestamp()))
        check(abs(res[i] - want.timestamp()) < 1e-6, f"add_many at {a[i]}")
    back = cal.between_many(a[idx], res[idx])
    check(bool(np.allclose(back, d[idx], rtol=0, atol=1e-6)), "between_many")
    scalar_million = add_ns / 1e9 * N_BULK
    rows.append(
        (
            "add_many(), 1,000,000 deadlines",
            fmt_time(add_many_s),
            fmt_time(scalar_million),
            f"{scalar_million / add_many_s:.0f}x",
            "< 1 s",
        )
    )
    rows.append(
        (
            "between_many(), 1,000,000 spans",
            fmt_time(between_many_s),
            fmt_time(between_ns / 1e9 * N_BULK),
            f"{between_ns / 1e9 * N_BULK / between_many_s:.0f}x",
            "< 1 s",
        )
    )

    header = ("metric", "ours", "baseline", "ratio", "target")
    widths = [max(len(r[k]) for r in [header, *rows]) for k in range(5)]
    line = " | ".join("{:<%d}" % w for w in widths)  # noqa: UP031 - a format of formats
    print(
        "SoftOne calendar; baseline = naive day-by-day walker (tests/sla/oracle.py) for "
        "scalar rows, scalar add()/between() x 1e6 for bulk rows"
    )
    print(line.format(*header))
    print("-+-".join("-" * w for w in widths))
    for row in rows:
        print(line.format(*row))
    print(
        f"checks: {N_BASELINE} scalar results equal the naive walker; 2,000 bulk results "
        f"within {worst * 1e6:.3f} µs of scalar; timer overhead {overhead:.0f} ns "
        "(included in the medians)"
    )


if __name__ == "__main__":
    main()
