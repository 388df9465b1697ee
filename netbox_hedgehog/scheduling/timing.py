from datetime import datetime, timedelta


def next_run_time(anchor: datetime | None, interval: int, now: datetime) -> datetime:
    """Return the next planned run of a chain: ``anchor + k·interval`` for the smallest k ≥ 1 after ``now``.

    Anchoring on the previous *planned* time (not on when the last run finished) keeps the
    period equal to the interval whatever the sync's duration or the scheduler's delay; slots
    that already passed, e.g. during a run longer than the interval, are skipped rather than
    replayed. Without an anchor (a fabric that never ran) the next run is due now.
    """
    if anchor is None:
        return now
    step = timedelta(seconds=interval)
    elapsed_slots = (now - anchor) // step
    return anchor + max(1, elapsed_slots + 1) * step


def whole_second(moment: datetime) -> datetime:
    """Round up to a whole second, the resolution of rq-scheduler's schedule.

    rq-scheduler stores due times as whole Unix seconds (truncating), so a run planned for
    x.7 s would be queued up to 0.7 s early. Planned times that are whole seconds, advanced
    by whole-second intervals, are stored exactly and never start early.
    """
    if moment.microsecond == 0:
        return moment
    return moment.replace(microsecond=0) + timedelta(seconds=1)


# The first retry after a failed periodic run waits this long; each further failure doubles it.
RETRY_BASE = 10


def retry_delay(failures: int, interval: int) -> int:
    """Seconds before retrying a chain after ``failures`` failed runs in a row: 10, 20, 40 … capped at the interval."""
    return min(RETRY_BASE * 2 ** (failures - 1), interval)


def on_grid(moment: datetime, anchor: datetime | None, interval: int) -> bool:
    """True when ``moment`` is a slot of the grid ``anchor + k·interval`` (any moment is, without an anchor).

    Retries after a failure run between the slots; they must not move the grid.
    """
    return anchor is None or (moment - anchor).total_seconds() % interval == 0
