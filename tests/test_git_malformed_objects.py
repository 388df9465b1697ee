"""Bad objects in Git never block a fabric: each is skipped with its file, document and reason, the rest syncs.

Every case goes through the real sync of a real Git repository (the demo wiring): after a good
first run, one commit adds the malformed file, adds a good new Server and deletes server-03 from
the wiring. The run must be partial, name exactly the bad file (and document), create the new
Server and prune nothing: the skipped document may have been a Server, so server-03 is kept.
"""

import re

import git
import pytest

from netbox_hedgehog.choices import SyncOutcomeChoices
from netbox_hedgehog.models import HedgehogFabric, HedgehogResource, SyncRun
from netbox_hedgehog.scheduling.jobs import execute_fabric_sync
from netbox_hedgehog.sync.pipeline import sync_fabric
from tests.live import GIT_AUTHOR, make_gitops_repo

pytestmark = pytest.mark.django_db

HEAD = 'apiVersion: wiring.githedgehog.com/v1beta1\nkind: Server\n'
GOOD_SERVER = HEAD + 'metadata:\n  name: server-new\nspec:\n  description: added with the bad file\n'
DOCUMENT_1 = r'document 1 \(line 1\): '


def server(spec='  description: fine', metadata='  name: bad-1', head=HEAD):
    return f'{head}metadata:\n{metadata}\nspec:\n{spec}\n'


# (id, file name, content, what the problem says after "Git: <file>: ")
CASES = [
    ('unquoted date', 'bad.yaml', server('  description: 2024-01-01'),
     DOCUMENT_1 + r'spec\.description: 2024-01-01 was read as a date/time, which JSON cannot hold \(quote it\)'),
    ('unquoted timestamp', 'bad.yaml', server('  description: 2024-01-01T10:00:00Z'),
     DOCUMENT_1 + r'spec\.description: 2024-01-01T10:00:00\S* was read as a date/time'),
    ('nan', 'bad.yaml', server('  mtu: .nan'), DOCUMENT_1 + r'spec\.mtu: nan is not a JSON number'),
    ('infinity', 'bad.yaml', server('  mtu: -.inf'), DOCUMENT_1 + r'spec\.mtu: -inf is not a JSON number'),
    ('name longer than its column', 'bad.yaml', server(metadata='  name: ' + 'n' * 254),
     DOCUMENT_1 + r'metadata\.name is 254 characters long; at most 253 fit'),
    ('apiVersion longer than its column', 'bad.yaml',
     server(head=f'apiVersion: wiring.githedgehog.com/{"v" * 100}\nkind: Server\n'),
     DOCUMENT_1 + r'apiVersion is 123 characters long; at most 100 fit'),
    ('path longer than its column', f'{"d" * 200}/{"e" * 200}/{"f" * 150}.yaml', server(),
     DOCUMENT_1 + r'the file path is 557 characters long; at most 500 fit'),
    ('numeric namespace', 'bad.yaml', server(metadata='  name: bad-1\n  namespace: 123'),
     DOCUMENT_1 + r'metadata\.namespace must be text, not int 123 \(quote it\)'),
    ('on: key', 'bad.yaml', server('  on: yes'),
     DOCUMENT_1 + r'spec: the key bool True is not text \(YAML reads unquoted on, off'),
    ('true: label key', 'bad.yaml', server(metadata='  name: bad-1\n  labels:\n    true: x'),
     DOCUMENT_1 + r'metadata\.labels: the key bool True is not text'),
    ('integer key', 'bad.yaml', server('  1: one'), DOCUMENT_1 + r'spec: the key int 1 is not text'),
    ('missing name', 'bad.yaml', server(metadata='  namespace: default'), DOCUMENT_1 + r'no metadata\.name$'),
    ('numeric name', 'bad.yaml', server(metadata='  name: 123'),
     DOCUMENT_1 + r'metadata\.name must be text, not int 123 \(quote it\)'),
    ('boolean name', 'bad.yaml', server(metadata='  name: yes'),
     DOCUMENT_1 + r'metadata\.name must be text, not bool True'),
    ('list spec', 'bad.yaml', server('  - a'), DOCUMENT_1 + r'spec is not a mapping'),
    ('text spec', 'bad.yaml', HEAD + 'metadata: {name: bad-1}\nspec: just text\n',
     DOCUMENT_1 + 'spec is not a mapping'),
    ('list document', 'bad.yaml', '- a\n- b\n', DOCUMENT_1 + 'not a mapping'),
    ('text document', 'bad.yaml', 'just some text\n', DOCUMENT_1 + 'not a mapping'),
    ('missing kind', 'bad.yaml', 'apiVersion: x/v1\nmetadata: {name: bad-1}\n', DOCUMENT_1 + 'no kind'),
    ('missing apiVersion', 'bad.yaml', 'kind: Server\nmetadata: {name: bad-1}\n', DOCUMENT_1 + 'no apiVersion'),
    ('list kind', 'bad.yaml', 'apiVersion: x/v1\nkind: [Server]\nmetadata: {name: bad-1}\n',
     DOCUMENT_1 + r'kind must be text, not list'),
    ('labels as a list', 'bad.yaml', server(metadata='  name: bad-1\n  labels: [a, b]'),
     DOCUMENT_1 + r'metadata\.labels must be a mapping, not list'),
    ('numeric label value', 'bad.yaml', server(metadata='  name: bad-1\n  labels: {rack: 1}'),
     DOCUMENT_1 + r'metadata\.labels\.rack must be text, not int 1 \(quote it\)'),
    ('NUL character', 'bad.yaml', server('  description: "a\\0b"'),
     DOCUMENT_1 + r'spec\.description contains a NUL character'),
    ('binary value', 'bad.yaml', server('  description: !!binary aGVsbG8='),
     DOCUMENT_1 + r"spec\.description: bytes b'hello' is not a JSON value"),
    ('set value', 'bad.yaml', server('  ports: !!set {a, b}'), DOCUMENT_1 + r'spec\.ports: set .* is not a JSON value'),
    ('second document bad', 'bad.yaml', server(metadata='  name: fine-1') + '---\n' + server('  mtu: .nan'),
     r'document 2 \(line 7\): spec\.mtu: nan is not a JSON number'),
    # Whole files that cannot be read: every kind is incomplete.
    ('deep nesting', 'bad.yaml', server('  x: ' + '[' * 70 + ']' * 70), r'nested deeper than 64 levels \(line 6\)'),
    ('impossible date', 'bad.yaml', server('  description: 2024-13-45'),
     r'cannot be read as YAML: month must be in 1\.\.12'),
    ('5000-digit integer', 'bad.yaml', server('  mtu: ' + '9' * 5000), r'cannot be read as YAML: .*4300 digits'),
    ('python tag', 'bad.yaml', server('  x: !!python/object/apply:os.system [id]'),
     r'invalid YAML at line 6: could not determine a constructor'),
    ('anchor and alias', 'bad.yaml', server('  a: &x 1\n  b: *x'),
     r'YAML anchors and aliases \(&name, \*name\) are not accepted \(line 6\); write the values out'),
    ('broken syntax', 'bad.yaml', server('  a: [unclosed'), r'invalid YAML at line \d+: '),
    ('not UTF-8', 'bad.yaml', server('  description: caf\xe9').encode('latin-1'), r'cannot be read as YAML: .*utf-8'),
]  # fmt: skip


def remove_document(path, name):
    documents = path.read_text().split('\n---\n')
    kept = [document for document in documents if f'\n  name: {name}\n' not in f'\n{document}\n']
    assert len(kept) == len(documents) - 1
    path.write_text('\n---\n'.join(kept))


def commit(root, files):
    for name, content in files.items():
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            (root / name).write_bytes(content)
        else:
            (root / name).write_text(content)
    repo = git.Repo(root)
    repo.git.add('-A')
    repo.index.commit('update', author=GIT_AUTHOR, committer=GIT_AUTHOR)


@pytest.fixture(autouse=True)
def git_cache(settings, tmp_path):
    plugin = {**settings.PLUGINS_CONFIG['netbox_hedgehog'], 'git_cache_dir': str(tmp_path / 'cache')}
    settings.PLUGINS_CONFIG = {**settings.PLUGINS_CONFIG, 'netbox_hedgehog': plugin}


@pytest.fixture
def synced(tmp_path):
    """A fabric synced once from the demo wiring; yields (fabric, repository root)."""
    root = make_gitops_repo(tmp_path / 'gitops')
    fabric = HedgehogFabric.objects.create(name='malformed', git_repository_url=str(root))
    first = sync_fabric(fabric)
    assert first.succeeded, first.error_text()
    return fabric, root


def rows(fabric, **filters):
    return HedgehogResource.objects.filter(fabric=fabric, source='git', **filters)


@pytest.mark.parametrize(('name', 'content', 'problem'), [case[1:] for case in CASES], ids=[case[0] for case in CASES])
def test_a_malformed_document_is_skipped_and_everything_else_syncs(synced, name, content, problem):
    fabric, root = synced
    before = rows(fabric).count()
    remove_document(root / 'wiring.yaml', 'server-03')
    commit(root, {name: content, 'good.yaml': GOOD_SERVER})

    result = sync_fabric(fabric)

    assert result.errors == []
    assert result.outcome == SyncOutcomeChoices.PARTIAL
    assert result.invalid == len(result.problems) == 1, result.problems
    assert re.match(re.escape(f'Git: {name}: ') + problem, result.problems[0]), result.problems[0]
    good_in_bad_file = len(re.findall(r'name: fine-', str(content)))
    assert result.created == 1 + good_in_bad_file and rows(fabric, name='server-new').exists()
    # server-03 is gone from Git, but a skipped document may have been a Server: nothing is pruned.
    assert result.deleted == 0 and result.prune_skipped == 1
    assert rows(fabric, name='server-03').exists()
    assert rows(fabric).count() == before + result.created
    # The next run (nothing changed) is as partial, and still writes nothing and deletes nothing.
    again = sync_fabric(fabric)
    assert (again.outcome, again.created, again.updated, again.deleted) == (SyncOutcomeChoices.PARTIAL, 0, 0, 0)


def test_there_are_at_least_twenty_shapes():
    assert len(CASES) >= 20


def test_a_skipped_document_of_a_known_kind_keeps_only_that_kind_from_pruning(synced):
    fabric, root = synced
    remove_document(root / 'wiring.yaml', 'server-03')
    remove_document(root / 'vpcs.yaml', 'vpc-02')
    commit(root, {'bad.yaml': server(metadata='  namespace: default')})

    result = sync_fabric(fabric)

    assert result.problems == ['Git: bad.yaml: document 1 (line 1): no metadata.name']
    assert rows(fabric, kind='Server', name='server-03').exists()
    assert not rows(fabric, kind='VPC', name='vpc-02').exists()
    assert result.deleted == 1


def test_objects_without_a_namespace_get_the_fabrics_namespace(tmp_path):
    root = make_gitops_repo(tmp_path / 'gitops')
    commit(root, {'extra.yaml': GOOD_SERVER + '---\n' + server(metadata='  name: elsewhere\n  namespace: other')})
    fabric = HedgehogFabric.objects.create(
        name='namespaced', git_repository_url=str(root), kubernetes_namespace='fabric-a'
    )

    assert sync_fabric(fabric).succeeded
    assert rows(fabric, name='server-new').get().namespace == 'fabric-a'
    assert rows(fabric, name='leaf-01').get().namespace == 'fabric-a'
    # Objects that name their namespace keep it.
    assert rows(fabric, name='elsewhere').get().namespace == 'other'
    again = sync_fabric(fabric)
    assert (again.created, again.updated, again.deleted) == (0, 0, 0)


def test_the_job_records_a_partial_run_with_file_and_document(synced, tasks_redis):
    fabric, root = synced
    commit(root, {'bad.yaml': server('  description: 2024-01-01')})

    execute_fabric_sync(fabric.pk)

    run = SyncRun.objects.filter(fabric=fabric).latest('pk')
    assert run.outcome == SyncOutcomeChoices.PARTIAL and run.invalid == 1
    assert 'bad.yaml: document 1 (line 1): spec.description: 2024-01-01 was read as a date/time' in run.error
    fabric.refresh_from_db()
    assert 'bad.yaml: document 1 (line 1)' in fabric.sync_error
