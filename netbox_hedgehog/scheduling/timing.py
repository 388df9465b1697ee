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
