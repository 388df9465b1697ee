"""The Git source against real local repositories built with GitPython (no database needed)."""

import base64
import http.server
import logging
import os
import re
import shutil
import stat
import subprocess
import tempfile
import traceback
from pathlib import Path
from types import SimpleNamespace

import pytest
from git import Repo

from netbox_hedgehog.kinds import FABRIC_KINDS
from netbox_hedgehog.sources.base import SourceError
from netbox_hedgehog.sources.git import (
    GIT_ENV,
    git_environment,
    mask_credentials,
    read_git_repository,
    remote_branch_commit,
)
from tests.base import serving
from tests.fabric_data import DEMO_WIRING

ALL_KINDS = {kind.kind for kind in FABRIC_KINDS}
SAMPLES = Path(__file__).resolve().parents[2] / 'shared' / 'hedgehog' / 'samples'

SWITCH = """\
apiVersion: wiring.githedgehog.com/v1beta1
kind: Switch
metadata:
  name: leaf-01
  namespace: default
  labels:
    rack: r1
spec:
  role: server-leaf
  asn: {asn}
"""
SERVER = """\
apiVersion: wiring.githedgehog.com/v1beta1
kind: Server
metadata:
  name: {name}
spec:
  description: {name}
"""


class Upstream:
    """A bare "remote" repository and a working copy that commits and pushes to it."""

    def __init__(self, path):
        self.bare = Repo.init(path / 'origin.git', bare=True, initial_branch='main')
        self.work = Repo.init(path / 'work', initial_branch='main')
        with self.work.config_writer() as config:
            config.set_value('user', 'name', 'Test').set_value('user', 'email', 'test@example.com')
        self.work.create_remote('origin', self.bare.working_dir)
        self.url = self.bare.working_dir

    def commit(self, files=None, delete=(), branch='main', force=False):
        """Write ``files`` ({path: text}), delete ``delete``, commit and push; return the commit SHA."""
        root = Path(self.work.working_tree_dir)
        for name, text in (files or {}).items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(text)
        for name in delete:
            (root / name).unlink()
        self.work.git.add('--all')
        self.work.git.commit('--allow-empty', '-m', 'update')
        self.work.git.push(*(['--force'] if force else []), 'origin', f'HEAD:refs/heads/{branch}')
        return self.work.head.commit.hexsha


@pytest.fixture(autouse=True)
def git_cache_dir(settings, tmp_path):
    """Give every test its own clone cache, as fabrics of different tests share primary keys."""
    plugin = {**settings.PLUGINS_CONFIG['netbox_hedgehog'], 'git_cache_dir': str(tmp_path / 'cache')}
    settings.PLUGINS_CONFIG = {**settings.PLUGINS_CONFIG, 'netbox_hedgehog': plugin}
    return tmp_path / 'cache'


@pytest.fixture
def upstream(tmp_path):
    return Upstream(tmp_path)


def make_fabric(url, **fields):
    defaults = {
        'pk': 7,
        'git_repository_url': str(url),
        'git_branch': 'main',
        'git_path': '',
        'kubernetes_namespace': 'default',
        'allow_insecure_transport': False,
    }
    return SimpleNamespace(**{**defaults, **fields})


def keys(listing):
    return sorted(obj.key for obj in listing.objects)


def test_objects_revision_and_source_paths(upstream):
    sha = upstream.commit(
        {
            'wiring/switches.yaml': SWITCH.format(asn=65101),
            'wiring/servers.yml': '---\n' + SERVER.format(name='server-01') + '---\n' + SERVER.format(name='server-02'),
            'README.md': '# not read\n',
        }
    )

    listing = read_git_repository(make_fabric(upstream.url))

    assert listing.source == 'git'
    assert listing.revision == sha
    assert listing.problems == []
    assert listing.complete_kinds == ALL_KINDS
    assert keys(listing) == [
        ('Server', 'default', 'server-01'),
        ('Server', 'default', 'server-02'),
        ('Switch', 'default', 'leaf-01'),
    ]
    switch = next(obj for obj in listing.objects if obj.kind == 'Switch')
    assert switch.api_version == 'wiring.githedgehog.com/v1beta1'
    assert switch.spec == {'role': 'server-leaf', 'asn': 65101}
    assert switch.labels == {'rack': 'r1'}
    assert switch.source_path == 'wiring/switches.yaml'
    assert {obj.source_path for obj in listing.objects if obj.kind == 'Server'} == {'wiring/servers.yml'}


def test_changes_and_deletions_are_followed_in_the_same_clone(upstream, git_cache_dir):
    upstream.commit({'switch.yaml': SWITCH.format(asn=65101), 'server.yaml': SERVER.format(name='server-01')})
    fabric = make_fabric(upstream.url)
    read_git_repository(fabric)
    marker = git_cache_dir / 'fabric-7' / '.git' / 'kept-between-runs'
    marker.touch()

    sha = upstream.commit({'switch.yaml': SWITCH.format(asn=65199)}, delete=['server.yaml'])
    listing = read_git_repository(fabric)

    assert listing.revision == sha
    assert keys(listing) == [('Switch', 'default', 'leaf-01')]
    assert listing.objects[0].spec['asn'] == 65199
    assert marker.exists(), 'the existing clone was fetched, not cloned again'


def test_a_force_pushed_history_is_followed(upstream):
    upstream.commit({'switch.yaml': SWITCH.format(asn=65101)})
    upstream.commit({'server.yaml': SERVER.format(name='server-old')})
    fabric = make_fabric(upstream.url)
    assert ('Server', 'default', 'server-old') in keys(read_git_repository(fabric))

    upstream.work.git.reset('--hard', 'HEAD~1')
    rewritten = upstream.commit({'server.yaml': SERVER.format(name='server-new')}, force=True)
    listing = read_git_repository(fabric)

    assert listing.revision == rewritten
    assert keys(listing) == [('Server', 'default', 'server-new'), ('Switch', 'default', 'leaf-01')]


def test_a_changed_repository_url_is_cloned_anew(tmp_path):
    first, second = Upstream(tmp_path / 'first'), Upstream(tmp_path / 'second')
    first.commit({'server.yaml': SERVER.format(name='server-first')})
    sha = second.commit({'server.yaml': SERVER.format(name='server-second')})
    read_git_repository(make_fabric(first.url))

    listing = read_git_repository(make_fabric(second.url))

    assert listing.revision == sha
    assert keys(listing) == [('Server', 'default', 'server-second')]


def test_the_configured_branch_is_read(upstream):
    upstream.commit({'server.yaml': SERVER.format(name='on-main')})
    sha = upstream.commit({'server.yaml': SERVER.format(name='on-staging')}, branch='staging')

    listing = read_git_repository(make_fabric(upstream.url, git_branch='staging'))

    assert listing.revision == sha
    assert keys(listing) == [('Server', 'default', 'on-staging')]


def test_a_missing_branch_is_a_source_error(upstream):
    upstream.commit({'server.yaml': SERVER.format(name='server-01')})

    with pytest.raises(SourceError, match=f'^branch nope does not exist in {re.escape(upstream.url)}$'):
        read_git_repository(make_fabric(upstream.url, git_branch='nope'))


def test_a_deleted_branch_is_noticed_on_fetch(upstream):
    upstream.commit({'server.yaml': SERVER.format(name='server-01')})
    upstream.commit(branch='feature')
    fabric = make_fabric(upstream.url, git_branch='feature')
    read_git_repository(fabric)

    upstream.work.git.push('origin', '--delete', 'feature')

    with pytest.raises(SourceError, match='^branch feature does not exist'):
        read_git_repository(fabric)


def test_an_unreachable_remote_is_a_source_error(tmp_path):
    missing = tmp_path / 'no-such-repo'

    with pytest.raises(SourceError, match=f'^cannot fetch {re.escape(str(missing))}: fatal: .*does not exist'):
        read_git_repository(make_fabric(missing))


def test_a_directory_that_is_not_a_repository_is_a_source_error(tmp_path):
    (tmp_path / 'plain').mkdir()

    with pytest.raises(SourceError, match='^cannot fetch .*plain: fatal: '):
        read_git_repository(make_fabric(tmp_path / 'plain'))


def test_a_password_in_the_url_is_refused_and_never_shown():
    url = 'https://gitops:s3cret-pass@127.0.0.1:1/fabric.git'

    with pytest.raises(SourceError) as caught:
        read_git_repository(make_fabric(url))

    assert str(caught.value) == 'Do not put a password in the URL: give it (or an access token) in the Git token field.'
    assert 's3cret-pass' not in ''.join(traceback.format_exception(caught.value))


def test_mask_credentials():
    assert (
        mask_credentials('see https://u:p@git.example.com/x and ssh://git@h/y')
        == 'see https://***@git.example.com/x and ssh://***@h/y'
    )


def test_malformed_yaml_names_file_and_line_and_nothing_is_complete(upstream):
    upstream.commit(
        {
            'good.yaml': SERVER.format(name='server-01'),
            'broken.yaml': SERVER.format(name='server-02') + '---\nkind: Server\nmetadata: {name: [unclosed\n',
        }
    )

    listing = read_git_repository(make_fabric(upstream.url))

    assert len(listing.problems) == 1
    assert re.fullmatch(r'broken\.yaml: invalid YAML at line (9|10): .+', listing.problems[0]), listing.problems
    assert keys(listing) == [('Server', 'default', 'server-01')]
    assert listing.complete_kinds == set()


def test_documents_that_cannot_be_taken_are_reported_and_skipped(upstream):
    documents = [
        SERVER.format(name='server-01'),
        'apiVersion: fabricator.githedgehog.com/v1beta1\nkind: Fabricator\nmetadata: {name: default}\n',
        'apiVersion: wiring.githedgehog.com/v1beta1\nkind: Server\nmetadata: {namespace: default}\n',
        'apiVersion: wiring.githedgehog.com/v1beta1\nmetadata: {name: what}\n',
        '- a\n- list\n',
        SERVER.format(name='server-01'),
    ]
    upstream.commit({'mixed.yaml': '---\n'.join(documents)})

    listing = read_git_repository(make_fabric(upstream.url))

    assert listing.problems == [
        'mixed.yaml: document 2 (line 7): unknown kind Fabricator',
        'mixed.yaml: document 3 (line 11): no metadata.name',
        'mixed.yaml: document 4 (line 15): no kind',
        'mixed.yaml: document 5 (line 18): not a mapping',
        'mixed.yaml: document 6 (line 21): Server default/server-01 is already defined in mixed.yaml '
        '(document 1 (line 1))',
    ]
    assert keys(listing) == [('Server', 'default', 'server-01')]
    # Documents 4 and 5 may have held objects of any kind: nothing may be pruned.
    assert listing.complete_kinds == set()


def test_comment_only_files_and_empty_documents_are_fine(upstream):
    upstream.commit(
        {
            'a-comments.yaml': '# nothing here yet\n#\n',
            'b-empty.yaml': '',
            'c-servers.yaml': '---\n# leading comment\n---\n' + SERVER.format(name='server-01') + '---\n---\n',
        }
    )

    listing = read_git_repository(make_fabric(upstream.url))

    assert listing.problems == []
    assert keys(listing) == [('Server', 'default', 'server-01')]
    assert listing.complete_kinds == ALL_KINDS


def test_objects_without_namespace_get_the_fabrics_namespace(upstream):
    upstream.commit({'servers.yaml': SERVER.format(name='server-01'), 'switch.yaml': SWITCH.format(asn=65101)})

    listing = read_git_repository(make_fabric(upstream.url, kubernetes_namespace='fabric-a'))

    assert keys(listing) == [('Server', 'fabric-a', 'server-01'), ('Switch', 'default', 'leaf-01')]


def test_only_the_configured_path_is_read(upstream):
    upstream.commit(
        {
            'fabric-a/wiring.yaml': SERVER.format(name='in-a'),
            'fabric-a/day2/more.yaml': SERVER.format(name='in-a-day2'),
            'fabric-b/wiring.yaml': SERVER.format(name='in-b'),
            'top.yaml': SERVER.format(name='at-top'),
        }
    )

    listing = read_git_repository(make_fabric(upstream.url, git_path='fabric-a/'))

    assert keys(listing) == [('Server', 'default', 'in-a'), ('Server', 'default', 'in-a-day2')]
    assert sorted(obj.source_path for obj in listing.objects) == ['fabric-a/day2/more.yaml', 'fabric-a/wiring.yaml']


@pytest.mark.parametrize('git_path', ['missing', '../..', 'top.yaml'])
def test_a_path_that_is_not_a_directory_of_the_repository_is_a_source_error(upstream, git_path):
    upstream.commit({'top.yaml': SERVER.format(name='at-top')})

    with pytest.raises(SourceError, match=f'^the path "{re.escape(git_path)}" does not exist in branch main$'):
        read_git_repository(make_fabric(upstream.url, git_path=git_path))


def test_the_shipped_demo_wiring_parses_cleanly(upstream):
    upstream.commit({path.name: path.read_text() for path in DEMO_WIRING.glob('*.yaml')})

    listing = read_git_repository(make_fabric(upstream.url))

    assert listing.problems == []
    counts = {}
    for obj in listing.objects:
        counts[obj.kind] = counts.get(obj.kind, 0) + 1
    assert counts == {
        'VLANNamespace': 1,
        'IPv4Namespace': 1,
        'SwitchGroup': 1,
        'Switch': 4,
        'Server': 3,
        'Connection': 7,
        'VPC': 2,
        'VPCAttachment': 2,
        'VPCPeering': 1,
    }
    assert {obj.namespace for obj in listing.objects} == {'default'}
    connection_types = {obj.name.split('--')[1] for obj in listing.objects if obj.kind == 'Connection'}
    assert connection_types == {'fabric', 'eslag', 'bundled', 'unbundled'}


SAMPLE_FILES = sorted(SAMPLES.rglob('*.yaml')) if SAMPLES.is_dir() else []


@pytest.mark.skipif(not SAMPLES.is_dir(), reason=f'the Hedgehog samples are not checked out at {SAMPLES}')
@pytest.mark.parametrize('sample', SAMPLE_FILES, ids=[str(path.relative_to(SAMPLES)) for path in SAMPLE_FILES])
def test_every_hedgehog_sample_parses(upstream, sample):
    shutil.copy(sample, Path(upstream.work.working_tree_dir) / sample.name)
    upstream.commit()

    listing = read_git_repository(make_fabric(upstream.url))

    # The documentation shows some objects twice, as alternatives of one another.
    unexpected = [
        problem
        for problem in listing.problems
        if not re.search(r': document \d+ \(line \d+\): (unknown kind |.* is already defined in )', problem)
    ]
    assert unexpected == []
    assert listing.complete_kinds == ALL_KINDS
    assert all(obj.source_path == sample.name for obj in listing.objects)


# --- Credentials: a token over https (here: http to a local smart-HTTP server), an SSH key -----------

GIT_TOKEN = 'ghp_secretGitToken0123456789abcdef'
SSH_KEY = (
    '-----BEGIN OPENSSH PRIVATE KEY-----\r\n'
    'b3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQAAAAAAAAABAAAAMwAAAAtzc2gtZW\r\n'
    'secret-ssh-key-material-0123456789\r\n'
    '-----END OPENSSH PRIVATE KEY-----\r\n'
)


class GitHTTPServer(http.server.ThreadingHTTPServer):
    """``git http-backend`` behind HTTP Basic auth: only ``expected_authorization`` may read."""

    daemon_threads = True

    def __init__(self, project_root, expected_authorization):
        super().__init__(('127.0.0.1', 0), GitHTTPHandler)
        self.project_root = str(project_root)
        self.expected_authorization = expected_authorization
        self.authorizations = []  # the Authorization header of every request (None: none sent)

    @property
    def url(self):
        return f'http://127.0.0.1:{self.server_address[1]}'


class GitHTTPHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.serve()

    def do_POST(self):
        self.serve()

    def serve(self):
        authorization = self.headers.get('Authorization')
        self.server.authorizations.append(authorization)
        if authorization != self.server.expected_authorization:
            self.send_response(401)
            self.send_header('WWW-Authenticate', 'Basic realm="git"')
            self.send_header('Content-Length', '0')
            self.end_headers()
            return
        path, _, query = self.path.partition('?')
        body = self.rfile.read(int(self.headers.get('Content-Length') or 0))
        env = {
            'PATH': os.environ['PATH'],
            'GIT_PROJECT_ROOT': self.server.project_root,
            'GIT_HTTP_EXPORT_ALL': '1',
            'REQUEST_METHOD': self.command,
            'PATH_INFO': path,
            'QUERY_STRING': query,
            'CONTENT_TYPE': self.headers.get('Content-Type', ''),
            'CONTENT_LENGTH': str(len(body)),
            'HTTP_CONTENT_ENCODING': self.headers.get('Content-Encoding', ''),
            'GIT_PROTOCOL': self.headers.get('Git-Protocol', ''),
            'REMOTE_USER': 'git',
            'REMOTE_ADDR': '127.0.0.1',
        }
        output = subprocess.run(['git', 'http-backend'], input=body, env=env, capture_output=True, check=True).stdout
        head, _, payload = output.partition(b'\r\n\r\n')
        status, headers = 200, []
        for line in head.decode().splitlines():
            name, _, value = line.partition(':')
            if name.lower() == 'status':
                status = int(value.split()[0])
            else:
                headers.append((name, value.strip()))
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header('Content-Length', str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, *args):
        pass


def basic(user, password):
    return 'Basic ' + base64.b64encode(f'{user}:{password}'.encode()).decode()


@pytest.fixture
def git_http(upstream):
    """Serve ``upstream``'s bare repository at ``<server.url>/origin.git``, for the token GIT_TOKEN only."""
    with serving(GitHTTPServer(Path(upstream.bare.git_dir).parent, basic('x-access-token', GIT_TOKEN))) as server:
        yield server


def everything_logged_and_raised(caplog, exc=None):
    text = '\n'.join(record.getMessage() + str(record.args) for record in caplog.records)
    return text + ('' if exc is None else ''.join(traceback.format_exception(exc)) + repr(exc.__context__))


def test_a_token_authenticates_clone_and_fetch(upstream, git_http, git_cache_dir, caplog):
    caplog.set_level(logging.DEBUG)
    upstream.commit({'server.yaml': SERVER.format(name='server-01')})
    url = f'{git_http.url}/origin.git'
    fabric = make_fabric(url, git_token=GIT_TOKEN, allow_insecure_transport=True)

    assert keys(read_git_repository(fabric)) == [('Server', 'default', 'server-01')]
    cloned = len(git_http.authorizations)
    sha = upstream.commit({'server.yaml': SERVER.format(name='server-02')})
    listing = read_git_repository(fabric)

    assert listing.revision == sha and keys(listing) == [('Server', 'default', 'server-02')]
    assert len(git_http.authorizations) > cloned, 'the second read fetched over HTTP'
    # Every request carried the token as Basic auth; git never had to ask (it cannot, without a terminal).
    assert set(git_http.authorizations) == {basic('x-access-token', GIT_TOKEN)}
    clone = Repo(git_cache_dir / 'fabric-7')
    assert clone.remotes.origin.url == url
    assert GIT_TOKEN not in (git_cache_dir / 'fabric-7' / '.git' / 'config').read_text()
    assert not any(GIT_TOKEN in str(value) for value in clone.git.environment().values())
    assert GIT_TOKEN not in everything_logged_and_raised(caplog)


def test_without_the_token_the_server_refuses(upstream, git_http):
    """The server really requires the token: the test above would fail if it were not sent."""
    upstream.commit({'server.yaml': SERVER.format(name='server-01')})

    with pytest.raises(SourceError, match=r'^cannot fetch http://127\.0\.0\.1:\d+/origin\.git: fatal: '):
        read_git_repository(make_fabric(f'{git_http.url}/origin.git'))

    assert git_http.authorizations == [None]


def test_a_wrong_token_never_appears_in_errors_or_logs(upstream, git_http, caplog):
    caplog.set_level(logging.DEBUG)
    upstream.commit({'server.yaml': SERVER.format(name='server-01')})
    wrong = 'ghp_wrongTokenThatMustNotLeak42'

    with pytest.raises(SourceError) as caught:
        read_git_repository(make_fabric(f'{git_http.url}/origin.git', git_token=wrong, allow_insecure_transport=True))

    assert str(caught.value).startswith(f'cannot fetch {git_http.url}/origin.git: ')
    assert git_http.authorizations[0] == basic('x-access-token', wrong)
    text = everything_logged_and_raised(caplog, caught.value)
    assert wrong not in text and basic('x-access-token', wrong).split()[1] not in text


def test_the_user_name_of_the_url_goes_with_the_token(upstream, git_http):
    upstream.commit({'server.yaml': SERVER.format(name='server-01')})
    git_http.expected_authorization = basic('gitops', GIT_TOKEN)
    url = f'http://gitops@127.0.0.1:{git_http.server_address[1]}/origin.git'

    fabric = make_fabric(url, git_token=GIT_TOKEN, allow_insecure_transport=True)

    assert keys(read_git_repository(fabric)) == [('Server', 'default', 'server-01')]
    assert set(git_http.authorizations) == {basic('gitops', GIT_TOKEN)}


def test_the_token_is_shared_with_ls_remote(upstream, git_http):
    """How the connection test uses the helper."""
    sha = upstream.commit({'server.yaml': SERVER.format(name='server-01')})
    url = f'{git_http.url}/origin.git'

    fabric = make_fabric(url, git_token=GIT_TOKEN, allow_insecure_transport=True)

    assert remote_branch_commit(fabric) == sha
    assert remote_branch_commit(SimpleNamespace(**{**vars(fabric), 'git_branch': 'nope'})) is None
    assert set(git_http.authorizations) == {basic('x-access-token', GIT_TOKEN)}


def test_the_token_is_sent_only_to_the_repository_host():
    with git_environment(make_fabric('https://git.example.com:8443/org/wiring.git', git_token='t0k')) as env:
        assert env['GIT_CONFIG_COUNT'] == '1'
        assert env['GIT_CONFIG_KEY_0'] == 'http.https://git.example.com:8443/.extraHeader'
        assert env['GIT_CONFIG_VALUE_0'] == f'Authorization: {basic("x-access-token", "t0k")}'
    for url in (
        '/srv/git/wiring.git',
        'ssh://git@example.com/wiring.git',
        'git@example.com:org/wiring.git',
        'http://git.example.com/wiring.git',  # not without allow_insecure_transport
    ):
        with git_environment(make_fabric(url, git_token='t0k')) as env:
            assert 'GIT_CONFIG_COUNT' not in env and 't0k' not in str(env), url
    with git_environment(make_fabric('/srv/git/wiring.git')) as env:
        assert env == {**GIT_ENV, 'GIT_ALLOW_PROTOCOL': 'https:http:ssh:git:file'}


@pytest.fixture
def fake_ssh(tmp_path, monkeypatch):
    """An ``ssh`` on PATH that records its arguments and the key file, then runs git's command locally.

    Yields the log file: per call, the arguments, the key file's mode and its content.
    """
    bin_dir, log = tmp_path / 'bin', tmp_path / 'ssh.log'
    bin_dir.mkdir()
    script = bin_dir / 'ssh'
    script.write_text(f"""#!/bin/sh
key=; previous=
for argument; do
    [ "$previous" = -i ] && key=$argument
    previous=$argument; last=$argument
done
{{ echo "ARGS $*"; echo "MODE $(stat -c %a "$key")"; echo "KEY-BEGIN"; cat "$key"; echo "KEY-END"; }} >> {log}
exec sh -c "$last"
""")
    script.chmod(0o755)
    monkeypatch.setenv('PATH', f'{bin_dir}{os.pathsep}{os.environ["PATH"]}')
    monkeypatch.setattr(tempfile, 'tempdir', str(tmp_path / 'tmp'))
    (tmp_path / 'tmp').mkdir()
    return log


def test_an_ssh_key_is_used_from_a_private_file_that_is_removed_afterwards(upstream, fake_ssh, git_cache_dir, tmp_path):
    sha = upstream.commit({'server.yaml': SERVER.format(name='server-01')})
    fabric = make_fabric(f'ssh://git@git.example.com{upstream.url}', git_ssh_key=SSH_KEY)

    listing = read_git_repository(fabric)
    upstream.commit({'server.yaml': SERVER.format(name='server-02')})
    read_git_repository(fabric)  # a fetch of the existing clone

    assert listing.revision == sha
    log = fake_ssh.read_text()
    calls = log.split('ARGS ')[1:]
    assert len(calls) == 2
    for call in calls:
        arguments = call.splitlines()[0]
        key_file = re.search(r'-i (\S+)', arguments).group(1)
        assert Path(key_file).parent == tmp_path / 'tmp'
        assert '-o IdentitiesOnly=yes' in arguments and '-o StrictHostKeyChecking=accept-new' in arguments
        assert '-o BatchMode=yes' in arguments
        assert f'-o UserKnownHostsFile={git_cache_dir / "known_hosts"}' in arguments
        assert 'git@git.example.com' in arguments
        assert 'MODE 600' in call
        key_text = call.split('KEY-BEGIN\n')[1].split('KEY-END')[0]
        assert key_text == SSH_KEY.replace('\r\n', '\n'), 'CRLF from a browser textarea is normalised'
        assert not Path(key_file).exists()
    assert list((tmp_path / 'tmp').iterdir()) == []


def test_the_key_file_is_removed_when_git_fails(tmp_path, fake_ssh, caplog):
    caplog.set_level(logging.DEBUG)
    fabric = make_fabric(f'ssh://git@git.example.com{tmp_path}/missing.git', git_ssh_key=SSH_KEY)

    with pytest.raises(SourceError) as caught:
        read_git_repository(fabric)

    assert 'MODE 600' in fake_ssh.read_text()
    assert list((tmp_path / 'tmp').iterdir()) == []
    assert 'secret-ssh-key-material' not in everything_logged_and_raised(caplog, caught.value)


def test_the_ssh_key_file_lives_only_inside_the_block(tmp_path, monkeypatch):
    monkeypatch.setattr(tempfile, 'tempdir', str(tmp_path))
    with git_environment(make_fabric('git@example.com:org/wiring.git', git_ssh_key='KEY\n')) as env:
        key_file = re.search(r'-i (\S+)', env['GIT_SSH_COMMAND']).group(1)
        assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
        assert Path(key_file).read_text() == 'KEY\n'
        assert env['GIT_TERMINAL_PROMPT'] == '0'
    assert not Path(key_file).exists()

    with pytest.raises(RuntimeError), git_environment(make_fabric('git@h:x.git', git_ssh_key='KEY')) as env:
        key_file = re.search(r'-i (\S+)', env['GIT_SSH_COMMAND']).group(1)
        raise RuntimeError('git failed')
    assert not Path(key_file).exists()
