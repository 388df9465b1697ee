from datetime import datetime, timedelta, timezone

import pytest

from netbox_hedgehog.scheduling.timing import next_run_time, whole_second

T0 = datetime(2026, 1, 1, 12, 0, 0, tzinfo=timezone.utc)


def at(seconds):
    return T0 + timedelta(seconds=seconds)


@pytest.mark.parametrize(
    ('now', 'expected'),
    [
        (0.5, 2),  # a short run: the next slot
        (1.999, 2),
        (2.0, 4),  # exactly on a slot: strictly after now
        (5.3, 6),  # a run longer than the interval: slots 2 and 4 are skipped, not replayed
        (60.1, 62),  # many missed slots (e.g. the worker was down)
    ],
)
def test_next_run_is_anchored_on_the_planned_time(now, expected):
    assert next_run_time(T0, 2, at(now)) == at(expected)


def test_period_does_not_grow_with_sync_duration():
    planned = T0
    for duration in (0.1, 0.9, 1.5, 0.2):
        finished = planned + timedelta(seconds=duration)
        following = next_run_time(planned, 2, finished)
        assert (following - planned).total_seconds() == 2
        planned = following


def test_anchor_in_the_future_gives_the_following_slot():
    assert next_run_time(at(10), 5, T0) == at(15)


def test_without_anchor_the_run_is_due_now():
    assert next_run_time(None, 30, T0) == T0


def test_planned_times_are_whole_seconds():
    assert whole_second(at(1.2)) == at(2)
    assert whole_second(at(3)) == at(3)
