"""The git processes and files on the worker: a stalling remote is cut off by git_timeout and leaves no
process behind; the clone cache and known_hosts are private; the SSH host key policy is the configured one.
"""

import os
import re
import socket
import stat
import threading
from pathlib import Path
from types import SimpleNamespace

import pytest
from django.conf import settings as django_settings

from netbox_hedgehog.sources.base import SourceError
from netbox_hedgehog.sources.git import git_environment, read_git_repository, remote_branch_commit
from tests.live import make_gitops_repo, wait_until


def plugin_config(**values):
    return {
        **django_settings.PLUGINS_CONFIG,
        'netbox_hedgehog': {**django_settings.PLUGINS_CONFIG['netbox_hedgehog'], **values},
    }


def make_fabric(url, **fields):
    return SimpleNamespace(
        **{
            'pk': 9,
            'git_repository_url': str(url),
            'git_branch': 'main',
            'git_path': '',
            'kubernetes_namespace': 'default',
            'allow_insecure_transport': False,
            **fields,
        }
    )


class StallingServer:
    """A TCP server that accepts every connection and never answers (a hung Git server)."""

    def __init__(self):
        self.socket = socket.create_server(('127.0.0.1', 0))
        self.accepted = threading.Event()
        self.connections = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                connection, _address = self.socket.accept()
            except OSError:
                return
            self.connections.append(connection)
            self.accepted.set()

    @property
    def url(self):
        return f'http://127.0.0.1:{self.socket.getsockname()[1]}/wiring.git'

    def close(self):
        self.socket.close()
        for connection in self.connections:
            connection.close()


def processes_naming(text):
    """The live processes whose command line contains ``text`` (zombies have none)."""
    found = []
    for entry in Path('/proc').iterdir():
        if entry.name.isdigit():
            try:
                command = (entry / 'cmdline').read_bytes().replace(b'\0', b' ').decode(errors='replace')
            except OSError:
                continue
            if text in command:
                found.append((int(entry.name), command))
    return found


@pytest.fixture
def stalling_server(settings, tmp_path):
    settings.PLUGINS_CONFIG = plugin_config(git_cache_dir=str(tmp_path / 'cache'), git_timeout=1)
    server = StallingServer()
    yield server
    server.close()


@pytest.mark.parametrize('operation', [read_git_repository, remote_branch_commit], ids=['clone', 'ls-remote'])
def test_a_stalling_remote_is_cut_off_and_leaves_no_git_process(stalling_server, operation):
    fabric = make_fabric(stalling_server.url)

    with pytest.raises(SourceError) as caught:
        operation(fabric)

    verb = 'clone' if operation is read_git_repository else 'ls-remote'
    assert str(caught.value) == (
        f'git {verb} of {stalling_server.url} did not finish within 1 s (plugin setting git_timeout)'
    )
    assert stalling_server.accepted.is_set(), 'git reached the server and was waiting for it'
    # git, git-remote-http and anything they started were killed; wait for the process table to say so.
    address = stalling_server.url.split('/')[2]
    wait_until(lambda: not processes_naming(address), timeout=30, message=f'no process naming {address}')


def test_the_clone_cache_and_known_hosts_are_private(settings, tmp_path):
    cache = tmp_path / 'cache'
    cache.mkdir(mode=0o755)
    cache.chmod(0o755)
    settings.PLUGINS_CONFIG = plugin_config(git_cache_dir=str(cache))
    repo = make_gitops_repo(tmp_path / 'gitops')

    read_git_repository(make_fabric(repo))
    with git_environment(make_fabric('git@git.example.com:org/wiring.git', git_ssh_key='KEY')) as env:
        known_hosts = re.search(r'UserKnownHostsFile=(\S+)', env['GIT_SSH_COMMAND']).group(1)

    assert stat.S_IMODE(cache.stat().st_mode) == 0o700
    assert (cache / 'fabric-9').is_dir()
    assert Path(known_hosts).parent == cache


def test_without_a_configured_cache_the_clones_go_to_a_private_directory_outside_the_shared_temp(
    settings, tmp_path, monkeypatch
):
    settings.PLUGINS_CONFIG = plugin_config(git_cache_dir=None)
    monkeypatch.setenv('XDG_CACHE_HOME', str(tmp_path / 'xdg'))

    read_git_repository(make_fabric(make_gitops_repo(tmp_path / 'gitops')))

    cache = tmp_path / 'xdg' / 'netbox-hedgehog' / 'git'
    assert (cache / 'fabric-9').is_dir()
    assert stat.S_IMODE(cache.stat().st_mode) == 0o700


def test_an_unusable_cache_directory_is_a_clear_error(settings, tmp_path):
    (tmp_path / 'file').write_text('not a directory')
    settings.PLUGINS_CONFIG = plugin_config(git_cache_dir=str(tmp_path / 'file' / 'cache'))

    with pytest.raises(SourceError, match=r'^cannot use the Git cache directory .*/file/cache: .*git_cache_dir\)$'):
        read_git_repository(make_fabric(make_gitops_repo(tmp_path / 'gitops')))


def test_the_default_ssh_policy_trusts_a_new_host_once(settings, tmp_path):
    settings.PLUGINS_CONFIG = plugin_config(git_cache_dir=str(tmp_path / 'cache'))

    with git_environment(make_fabric('git@git.example.com:org/wiring.git', git_ssh_key='KEY')) as env:
        assert '-o StrictHostKeyChecking=accept-new' in env['GIT_SSH_COMMAND']
        assert f'-o UserKnownHostsFile={tmp_path / "cache" / "known_hosts"}' in env['GIT_SSH_COMMAND']


def test_the_strict_ssh_policy_accepts_only_the_configured_host_keys(settings, tmp_path):
    line = 'git.example.com ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPinnedHostKeyForTheTestsOnly0000000000000'
    settings.PLUGINS_CONFIG = plugin_config(
        git_cache_dir=str(tmp_path / 'cache'), git_ssh_host_key_policy='strict', git_ssh_known_hosts=line
    )

    with git_environment(make_fabric('git@git.example.com:org/wiring.git', git_ssh_key='KEY')) as env:
        command = env['GIT_SSH_COMMAND']
        key_file = re.search(r'-i (\S+)', command).group(1)

    assert '-o StrictHostKeyChecking=yes' in command
    known_hosts = Path(re.search(r'UserKnownHostsFile=(\S+)', command).group(1))
    assert known_hosts.parent == tmp_path / 'cache' and known_hosts.read_text() == line + '\n'
    assert not os.path.exists(key_file)


@pytest.mark.parametrize(
    ('values', 'message'),
    [
        ({'git_ssh_host_key_policy': 'strict'}, 'git_ssh_host_key_policy is "strict" but git_ssh_known_hosts is empty'),
        ({'git_ssh_host_key_policy': 'no'}, 'git_ssh_host_key_policy must be "accept-new" or "strict", not \'no\''),
    ],
)
def test_an_unusable_ssh_policy_is_a_clear_error_and_leaves_no_key_file(
    settings, tmp_path, monkeypatch, values, message
):
    settings.PLUGINS_CONFIG = plugin_config(git_cache_dir=str(tmp_path / 'cache'), **values)
    monkeypatch.setattr('tempfile.tempdir', str(tmp_path))

    with pytest.raises(SourceError, match=re.escape(message)):
        read_git_repository(make_fabric('ssh://git@git.example.com/wiring.git', git_ssh_key='KEY'))

    assert not list(tmp_path.glob('hedgehog-git-key-*'))
