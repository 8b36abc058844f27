"""bench/alternate.py: the before/after table and its medians."""

from __future__ import annotations

from bench.alternate import COLUMNS, markdown


def _row(turn_p95: float, cpu: float) -> dict:
    row = {key: 1.0 for key, _, _ in COLUMNS}
    row.update(turn_p95_s=turn_p95, cpu_per_call_min=cpu)
    return row


def test_rows_and_each_sides_median():
    rows = [
        ("before 1", _row(1.0, 0.9)),
        ("after 1", _row(2.0, 0.8)),
        ("before 2", _row(3.0, 1.1)),
        ("after 2", _row(4.0, 0.7)),
        ("before 3", _row(5.0, 1.0)),
    ]
    table = markdown(rows).splitlines()
    assert len(table) == 2 + len(rows) + 2
    before = next(line for line in table if line.startswith("| **before, median**"))
    after = next(line for line in table if line.startswith("| **after, median**"))
    turn_p95 = [key for key, _, _ in COLUMNS].index("turn_p95_s") + 1
    assert before.split(" | ")[turn_p95] == "3.00"  # median of 1, 3, 5
    assert after.split(" | ")[turn_p95] == "3.00"  # median of 2, 4
    assert "0.75" in after  # CPU median of 0.8 and 0.7
