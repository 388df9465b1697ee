"""Drift: how an object in Git (desired) compares with the same object in the cluster (actual).

Pure functions. Git holds what an operator wrote; the cluster holds that after the admission
webhooks ran, which add defaults (Switch ``vlanNamespaces: [default]``, VPC ``ipv4Namespace`` /
``vlanNamespace: default``, subnet gateways, DHCP ranges, …), rewrite a few values
(VPCAttachment ``subnet: vpc`` becomes ``vpc/default``), sort some lists (Switch ``groups``,
DHCP ``dnsServers``, …) and recompute their own labels. So the comparison is one-sided:

* every field Git sets must have the same value in the cluster; fields only the cluster has do
  not count. ``None``, ``''``, ``0``, ``[]`` and ``{}`` in Git are "not set" (the Go API cannot
  tell them from a missing field, and the webhooks default such fields); ``false`` is a value
  (pointer flags such as ``isolated``), but matches a field the cluster leaves out, as does a
  dict of such values;
* dicts compare the keys Git has, recursively;
* lists must have the same length and match element by element with the same rule; when they
  do not, but each Git element matches a distinct cluster element (the webhooks sort several
  lists), they still count as equal;
* labels and annotations the webhooks write (any key containing ``fabric.githedgehog.com/`` or
  ``gateway.githedgehog.com/``) and kubectl's last-applied-configuration are ignored on both sides.
"""

import json

from ..choices import DriftStateChoices

WEBHOOK_KEY_PARTS = ('fabric.githedgehog.com/', 'gateway.githedgehog.com/')
IGNORED_KEYS = frozenset({'kubectl.kubernetes.io/last-applied-configuration'})
# Beyond this length, lists are compared in order only (the any-order match is quadratic).
MAX_UNORDERED = 500
_MISSING = object()


def _kept(metadata):
    if not isinstance(metadata, dict):
        return {}
    return {
        key: value
        for key, value in metadata.items()
        if key not in IGNORED_KEYS and not any(part in str(key) for part in WEBHOOK_KEY_PARTS)
    }


def comparable(spec, labels, annotations):
    """The parts of one object that are compared, with what the webhooks and kubectl write left out."""
    return {
        'spec': spec if isinstance(spec, dict) else {},
        'labels': _kept(labels),
        'annotations': _kept(annotations),
    }


def _normalised_spec(kind, spec):
    """Spec values the webhooks rewrite, written the way the cluster stores them."""
    if kind == 'VPCAttachment' and isinstance(spec.get('subnet'), str):
        vpc, _, subnet = spec['subnet'].partition('/')
        if vpc and not subnet:
            return {**spec, 'subnet': f'{vpc}/default'}
    return spec


def _parts(obj, kind):
    parts = comparable(obj.get('spec'), obj.get('labels'), obj.get('annotations'))
    parts['spec'] = _normalised_spec(kind, parts['spec'])
    return parts


def _unset(value):
    """Values Git leaves a field unset with: the Go API cannot tell them from a missing field."""
    if value is None:
        return True
    if isinstance(value, bool):
        return False
    if isinstance(value, (int, float)):
        return value == 0
    return value in ('', [], {})


def _is_zero(value):
    """Go's zero values (what the API leaves out of an object), recursively for dicts."""
    if value is None or value is False or value == '' or value == [] or value == {}:
        return True
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value == 0
    if isinstance(value, dict):
        return all(_is_zero(item) for item in value.values())
    return False


def _show(value, limit=120):
    """A value for a diff line: JSON, shortened."""
    try:
        shown = json.dumps(value, sort_keys=True, default=str, ensure_ascii=False)
    except (TypeError, ValueError):
        shown = repr(value)
    return shown if len(shown) <= limit else shown[: limit - 1] + '…'


def _scalar_equal(want, have):
    if isinstance(want, bool) or isinstance(have, bool):
        return isinstance(want, bool) and isinstance(have, bool) and want == have
    if isinstance(want, (int, float)) and isinstance(have, (int, float)):
        return want == have
    return type(want) is type(have) and want == have


def _differences(path, want, have, out):
    """Append to ``out`` one readable line per field Git sets that the cluster does not match."""
    if _unset(want):
        return
    if have is _MISSING or have is None:
        if not _is_zero(want):
            out.append(f'{path}: set in Git ({_show(want)}), missing in the cluster')
        return
    if isinstance(want, dict):
        if not isinstance(have, dict):
            out.append(f'{path}: {_show(want)} in Git, {_show(have)} in the cluster')
            return
        for key, value in want.items():
            _differences(f'{path}.{key}', value, have.get(key, _MISSING), out)
        return
    if isinstance(want, list):
        if not isinstance(have, list):
            out.append(f'{path}: {_show(want)} in Git, {_show(have)} in the cluster')
        elif len(want) != len(have):
            out.append(
                f'{path}: {len(want)} item(s) in Git ({_show(want)}), {len(have)} in the cluster ({_show(have)})'
            )
        else:
            lines = []
            for index, (wanted, had) in enumerate(zip(want, have)):
                _differences(f'{path}[{index}]', wanted, had, lines)
            if lines and not _match_any_order(want, have):
                out.extend(lines)
        return
    if not _scalar_equal(want, have):
        out.append(f'{path}: {_show(want)} in Git, {_show(have)} in the cluster')


def _matches(want, have):
    lines = []
    _differences('', want, have, lines)
    return not lines


def _match_any_order(want, have):
    """Whether every Git element matches a distinct cluster element (a perfect bipartite matching)."""
    if len(want) > MAX_UNORDERED:
        return False
    fits = [[j for j, had in enumerate(have) if _matches(wanted, had)] for wanted in want]
    owner = [None] * len(have)

    def assign(i, seen):
        for j in fits[i]:
            if j not in seen:
                seen.add(j)
                if owner[j] is None or assign(owner[j], seen):
                    owner[j] = i
                    return True
        return False

    return all(assign(i, set()) for i in range(len(want)))


def _kind(desired, actual, kind):
    if kind:
        return kind
    for obj in (desired, actual):
        if isinstance(obj, dict) and obj.get('kind'):
            return obj['kind']
    return ''


def drift_diff(desired, actual, kind=None):
    """Readable differences between Git (``desired``) and the cluster (``actual``), one line each.

    Both are dicts with 'spec', 'labels' and 'annotations' (and optionally 'kind'), or None when
    the object is absent from that source.
    """
    if desired is None and actual is None:
        return []
    if desired is None:
        return ['only in the cluster: not in Git']
    if actual is None:
        return ['only in Git: not in the cluster']
    kind = _kind(desired, actual, kind)
    want, have = _parts(desired, kind), _parts(actual, kind)
    lines = []
    for part in ('spec', 'labels', 'annotations'):
        for key, value in want[part].items():
            _differences(f'{part}.{key}', value, have[part].get(key, _MISSING), lines)
    return lines


def drift_state(desired, actual, kind=None):
    """The DriftStateChoices value for one object; '' when it is in neither source."""
    if desired is None and actual is None:
        return ''
    if desired is None:
        return DriftStateChoices.ONLY_IN_CLUSTER
    if actual is None:
        return DriftStateChoices.ONLY_IN_GIT
    return DriftStateChoices.DIFFERS if drift_diff(desired, actual, kind) else DriftStateChoices.IN_SYNC
