"""The fabric as NetBox DCIM and IPAM data: devices, interfaces, LAGs, cables, VRFs, prefixes, VLANs, addresses.

The data path of one run, called by ``sync.pipeline.sync_fabric`` when the fabric has ``dcim_sync`` on:
:func:`plan_fabric` reads the fabric's stored resources of the driving source (``desired``),
compares them with the objects the fabric owns (``plan``), and :func:`apply_fabric` writes the
difference (``apply``) in the run's transaction. See docs/dcim.md for what maps to what.
"""

from itertools import islice

from django.utils import timezone

from ..choices import ResourceSourceChoices
from ..models import HedgehogResource
from ..settings import plugin_setting
from ..sources.base import registry
from ..sync.changes import MAX_RECORDED_CHANGES
from .apply import apply_plan, change_logging
from .desired import MAPPED_KINDS, desired_state
from .plan import Plan, plan_mapping

__all__ = ('apply_fabric', 'change_logging', 'plan_fabric')


def mapping_rows(fabric, source, diff=None):
    """The stored rows of the kinds the mapping reads, as dicts; ``diff`` (a dry run's) laid over them.

    A dry run writes no resource row, so what the run would store is the stored rows with the
    source's diff applied in memory.
    """
    rows = HedgehogResource.objects.filter(fabric=fabric, source=source, kind__in=MAPPED_KINDS)
    return _overlay(rows.values('pk', 'kind', 'namespace', 'name', 'spec'), diff, MAPPED_KINDS)


def agent_rows(fabric, diff=None):
    """The fabric's Agents (kind, namespace, name, heartbeat): the cluster's, whichever source drives the mapping.

    ``diff``: a dry run's diff of the cluster source, laid over them as in :func:`mapping_rows`.
    """
    rows = HedgehogResource.objects.filter(fabric=fabric, source=ResourceSourceChoices.KUBERNETES, kind='Agent')
    return _overlay(rows.values('pk', 'kind', 'namespace', 'name', 'heartbeat'), diff, ('Agent',))


def _overlay(stored, diff, kinds):
    """The stored rows with a dry run's diff (its rows of ``kinds``) laid over them."""
    rows = {row['pk']: row for row in stored}
    if diff is None:
        return list(rows.values())
    for pk in diff.delete:
        rows.pop(pk, None)
    for pk, desired in diff.update.items():
        if pk in rows:
            rows[pk] = desired
    return [*rows.values(), *(row for row in diff.create if row['kind'] in kinds)]


def plan_fabric(fabric, result, diff=None) -> Plan | None:
    """Plan the fabric's DCIM changes, counted and listed into ``result``; None when the driving source is not set up.

    Pruning follows the resources' rule and is stricter: nothing is pruned in a run whose sources
    failed or reported problems, or when the fabric does not prune. Problems (unmappable objects,
    conflicts) go into ``result.problems``, making the run partial. The switches' status follows
    their Agents' heartbeats as of now (plugin setting ``agent_offline_after``); a fabric without
    a cluster has no Agents, and no query is spent on them.
    """
    source = fabric.dcim_source_name
    if not registry[source].is_configured(fabric):
        result.problems.append(f'DCIM: the fabric has no {source} source to map from; nothing was mapped')
        return None
    prune = fabric.prune and not result.errors and not result.problems
    rows = mapping_rows(fabric, source, diff)
    offline_after = plugin_setting('agent_offline_after')
    if offline_after and fabric.has_kubernetes_source:
        rows += agent_rows(fabric, diff if source == ResourceSourceChoices.KUBERNETES else None)
    desired = desired_state(rows, fabric, now=timezone.now(), offline_after=offline_after)
    plan = plan_mapping(fabric, desired, prune=prune)
    result.problems.extend(plan.problems)
    result.dcim_created, result.dcim_updated, result.dcim_deleted = plan.created, plan.updated, plan.deleted
    result.changes.extend(islice(plan.records(), max(0, MAX_RECORDED_CHANGES - len(result.changes))))
    return plan


def apply_fabric(fabric, plan, result):
    """Write a plan inside the caller's transaction; ``result`` gets what was written and NetBox's refusals."""
    (result.dcim_created, result.dcim_updated, result.dcim_deleted), problems = apply_plan(fabric, plan)
    result.problems.extend(problems)
