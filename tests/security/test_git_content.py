"""Hostile repository content: alias bombs, oversized files, too many documents, too much YAML in one run.

Whoever may push to a fabric's repository may try to exhaust the worker. Each limit refuses the
file with a message naming it and the setting, the rest of the repository syncs, and nothing is
pruned (a refused file may have held objects of any kind).
"""

import tracemalloc
from types import SimpleNamespace

import git
import pytest
import yaml
from django.conf import settings as django_settings

from netbox_hedgehog.choices import SyncOutcomeChoices
from netbox_hedgehog.models import HedgehogFabric, HedgehogResource
from netbox_hedgehog.sources.git import read_git_repository
from netbox_hedgehog.sync.pipeline import sync_fabric
from tests.live import GIT_AUTHOR, make_gitops_repo

# Nine levels of nine: 9**9 (387 million) strings once expanded, in under 500 bytes of YAML.
ALIAS_BOMB = """\
apiVersion: wiring.githedgehog.com/v1beta1
kind: Server
metadata: {name: bomb}
spec:
  a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]
  b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]
  c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]
  d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]
  e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]
  f: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]
  g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]
  h: &h [*g, *g, *g, *g, *g, *g, *g, *g, *g]
  i: [*h, *h, *h, *h, *h, *h, *h, *h, *h]
"""
SERVER = (
    'apiVersion: wiring.githedgehog.com/v1beta1\nkind: Server\n'
    'metadata:\n  name: {name}\nspec:\n  description: {text}\n'
)
# The same, seven levels deep: 4.8 million strings once expanded, small enough that a regression fails the memory
# bound below instead of exhausting the machine.
SMALL_ALIAS_BOMB = ALIAS_BOMB.split('  h: ')[0].replace('  g: &g', '  g:')


def plugin_config(**values):
    return {
        **django_settings.PLUGINS_CONFIG,
        'netbox_hedgehog': {**django_settings.PLUGINS_CONFIG['netbox_hedgehog'], **values},
    }


@pytest.fixture
def limits(settings, tmp_path):
    """Set content limits (and a private clone cache) for the test."""

    def configure(**values):
        settings.PLUGINS_CONFIG = plugin_config(git_cache_dir=str(tmp_path / 'cache'), **values)

    configure()
    return configure


@pytest.fixture
def repo(tmp_path):
    """The demo wiring in a local repository; ``repo.commit({name: text})`` adds files."""
    root = make_gitops_repo(tmp_path / 'gitops')
    repository = git.Repo(root)

    def commit(files, delete=()):
        for name, text in files.items():
            (root / name).write_text(text)
        for name in delete:
            (root / name).unlink()
        repository.git.add('-A')
        repository.index.commit('update', author=GIT_AUTHOR, committer=GIT_AUTHOR)

    return SimpleNamespace(root=root, commit=commit)


def make_fabric(repo):
    return SimpleNamespace(
        pk=1,
        git_repository_url=str(repo.root),
        git_branch='main',
        git_path='',
        kubernetes_namespace='default',
        allow_insecure_transport=False,
    )


def expanded_size(value, sizes=None):
    """How many leaves ``value`` has once every shared (aliased) list is written out, computed without doing it."""
    sizes = {} if sizes is None else sizes
    if id(value) not in sizes:
        if isinstance(value, dict):
            sizes[id(value)] = sum(expanded_size(item, sizes) for item in value.values())
        elif isinstance(value, list):
            sizes[id(value)] = sum(expanded_size(item, sizes) for item in value)
        else:
            sizes[id(value)] = 1
    return sizes[id(value)]


def test_the_alias_bomb_really_is_one():
    assert len(ALIAS_BOMB.encode()) <= 500
    assert expanded_size(yaml.safe_load(ALIAS_BOMB)) > 300_000_000


def test_an_alias_bomb_is_refused_within_a_memory_bound(limits, repo):
    repo.commit({'bomb.yaml': ALIAS_BOMB})

    tracemalloc.start()
    try:
        listing = read_git_repository(make_fabric(repo))
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert peak < 16 * 1024 * 1024, f'peak {peak} bytes'
    assert listing.problems == [
        'bomb.yaml: YAML anchors and aliases (&name, *name) are not accepted (line 5); write the values out'
    ]
    assert listing.complete_kinds == set()
    assert len(listing.objects) > 20, 'the other files were read'


def test_an_alias_bomb_through_the_real_sync_stays_within_a_memory_bound(db, limits, repo):
    """Stored, the bomb would be expanded by the object copy and the JSON encoder: hundreds of MB."""
    assert len(SMALL_ALIAS_BOMB.encode()) <= 500
    assert expanded_size(yaml.safe_load(SMALL_ALIAS_BOMB)) > 4_000_000
    fabric = HedgehogFabric.objects.create(name='bombed', git_repository_url=str(repo.root))
    repo.commit({'bomb.yaml': SMALL_ALIAS_BOMB})

    tracemalloc.start()
    try:
        result = sync_fabric(fabric)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert peak < 16 * 1024 * 1024, f'peak {peak} bytes'
    assert result.outcome == SyncOutcomeChoices.PARTIAL
    assert result.problems == [
        'Git: bomb.yaml: YAML anchors and aliases (&name, *name) are not accepted (line 5); write the values out'
    ]
    assert result.created > 20 and not HedgehogResource.objects.filter(fabric=fabric, name='bomb').exists()


def test_an_oversized_file_is_skipped_and_nothing_is_pruned(db, limits, repo):
    limits(git_max_file_size=10_000)
    fabric = HedgehogFabric.objects.create(name='oversize', git_repository_url=str(repo.root))
    assert sync_fabric(fabric).succeeded
    big = SERVER.format(name='big', text='x' * 20_000)
    repo.commit({'big.yaml': big, 'small.yaml': SERVER.format(name='small', text='fits')}, delete=['vpcs.yaml'])

    result = sync_fabric(fabric)

    assert result.outcome == SyncOutcomeChoices.PARTIAL
    assert result.problems == [
        f'Git: big.yaml: not read: {len(big)} bytes, more than the 10000 bytes a file may have '
        '(plugin setting git_max_file_size)'
    ]
    rows = HedgehogResource.objects.filter(fabric=fabric)
    assert rows.filter(name='small').exists() and not rows.filter(name='big').exists()
    assert result.deleted == 0 and rows.filter(kind='VPC').count() == 2, 'the VPCs of the deleted file were kept'


def test_too_many_documents_in_a_file_are_refused(limits, repo):
    limits(git_max_documents=3)
    servers = [SERVER.format(name=f'server-{number}', text='x') for number in range(10, 14)]
    repo.commit({'three.yaml': '---\n'.join(servers[:3]), 'four.yaml': '---\n'.join(servers)})

    listing = read_git_repository(make_fabric(repo))

    assert 'four.yaml: more than 3 YAML documents (plugin setting git_max_documents)' in listing.problems
    names = {obj.name for obj in listing.objects}
    assert {'server-10', 'server-11', 'server-12'} <= names and 'server-13' not in names
    assert listing.complete_kinds == set()


def test_the_files_after_the_total_size_limit_are_skipped(limits, repo):
    # vpcs.yaml (1.5 kB) and wiring.yaml (4.5 kB) are read in name order; the third file tips the total.
    limits(git_max_total_size=7_000)
    repo.commit({'zz-extra.yaml': SERVER.format(name='late', text='y' * 2_000)})

    listing = read_git_repository(make_fabric(repo))

    assert listing.problems == [
        'zz-extra.yaml: not read: with it this run would read more than 7000 bytes of YAML '
        '(plugin setting git_max_total_size)'
    ]
    assert 'late' not in {obj.name for obj in listing.objects} and len(listing.objects) > 20
    assert listing.complete_kinds == set()


def test_deep_nesting_is_refused_before_libyaml_builds_it(limits, repo):
    """libyaml's composer recurses per level: 100,000 levels would crash the worker with a segfault."""
    repo.commit({'deep.yaml': 'spec: ' + '[' * 100_000 + ']' * 100_000 + '\n'})

    listing = read_git_repository(make_fabric(repo))

    assert listing.problems == ['deep.yaml: nested deeper than 64 levels (line 1)']
