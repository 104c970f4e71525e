"""The small chart of a skin metric across visits (the Results page)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from dosemap.render.trend import HEIGHT, WIDTH, trend

DATES = ["2026-01-05 10:00", "2026-02-05 10:00", "2026-03-05 10:00"]


def test_points_follow_the_values_and_doubtful_photos_are_marked() -> None:
    values = {DATES[0]: 12.0, DATES[2]: 8.0}  # no photo on the second visit
    drawn = trend(DATES, values, {DATES[2]: ("blurred",)}, "redness", "a*")
    assert drawn is not None
    first, last = drawn.points
    assert (first.x, last.x) == (6.0, WIDTH - 6.0)  # the missing visit keeps its place
    assert first.y < last.y  # higher value drawn higher (SVG y grows downwards)
    assert (first.doubtful, last.doubtful) == (False, True)
    assert "12.00 a* on 2026-01-05 10:00 to 8.00 a*" in drawn.label
    assert "1 with capture-quality caveats" in drawn.label


def test_one_value_draws_no_chart_and_a_flat_series_sits_in_the_middle() -> None:
    assert trend(DATES, {DATES[0]: 1.0}, {}, "shine", "%") is None
    flat = trend(DATES, dict.fromkeys(DATES, 3.0), {}, "shine", "%")
    assert flat is not None and {p.y for p in flat.points} == {HEIGHT / 2}


@given(st.lists(st.floats(-1e6, 1e6, allow_nan=False), min_size=2, max_size=12))
def test_every_point_is_inside_the_box(series: list[float]) -> None:
    dates = [f"2026-01-{d + 1:02d} 09:00" for d in range(len(series))]
    drawn = trend(dates, dict(zip(dates, series, strict=True)), {}, "texture", "")
    assert drawn is not None
    assert all(0 <= p.x <= WIDTH and 0 <= p.y <= HEIGHT for p in drawn.points)
    assert [p.x for p in drawn.points] == sorted(p.x for p in drawn.points)
