"""What a run changes, object by object and field by field, kept on its run record (dry runs too).

The list is capped (:data:`MAX_RECORDED_CHANGES` objects per run): the counts on the run are
always complete, the list shows what an operator reviews before confirming a dry run.
"""

MAX_RECORDED_CHANGES = 1000
_MISSING = object()


def field_changes(old, new, path=''):
    """Leaf-level differences between two JSON-like values, as ``[path, old, new]`` (absent: None)."""
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(old.keys() | new.keys(), key=str):
            yield from field_changes(old.get(key, _MISSING), new.get(key, _MISSING), f'{path}.{key}' if path else key)
    elif isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        for index, (before, after) in enumerate(zip(old, new)):
            yield from field_changes(before, after, f'{path}[{index}]')
    elif old is not new and old != new:
        yield [path, None if old is _MISSING else old, None if new is _MISSING else new]


def object_change(action, source, row, fields=()):
    """One entry of a run's change list: ``row`` is a stored or desired resource row (a dict)."""
    return {
        'action': action,
        'source': source,
        'kind': row['kind'],
        'namespace': row['namespace'],
        'name': row['name'],
        'fields': list(fields),
    }
