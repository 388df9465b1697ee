"""Read a fabric's custom resources from the YAML files of its GitOps repository."""

import base64
import contextlib
import os
import re
import shlex
import shutil
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlsplit

import yaml
from git import GitCommandError, InvalidGitRepositoryError, NoSuchPathError, Repo

from ..fields import reveal
from ..kinds import FABRIC_KINDS, KINDS_BY_NAME
from ..settings import plugin_setting
from .base import ResourceObject, SourceError, SourceListing
from .redact import redact_resource

# Git must fail rather than wait for a password on a terminal that a worker does not have.
GIT_ENV = {'GIT_TERMINAL_PROMPT': '0'}
# The user name sent with a token when the URL names none (GitHub's; GitLab, Gitea and Azure accept any).
TOKEN_USER = 'x-access-token'
# libyaml parses ~10x faster than PyYAML's pure-Python loader; same safe subset.
YAML_LOADER = getattr(yaml, 'CSafeLoader', yaml.SafeLoader)


def read_git_repository(fabric):
    """Read every fabric object from the tip of the fabric's branch.

    The working clone is reset to ``origin/<branch>`` on every run, so a force-pushed
    branch is followed like any other change. When a file cannot be parsed nothing is
    listed as complete, because objects missing from a partial read must not be pruned.
    """
    with git_environment(fabric) as env:
        repo = _update_clone(fabric, env)
    root = Path(repo.working_tree_dir).resolve()
    base = (root / fabric.git_path.strip('/')).resolve()
    if not base.is_relative_to(root) or not base.is_dir():
        raise SourceError(f'the path "{fabric.git_path}" does not exist in branch {fabric.git_branch}')
    listing = SourceListing(source='git', objects=[], complete_kinds=set(), revision=repo.head.commit.hexsha)
    seen = {}
    all_parsed = True
    for path in _yaml_files(root, base):
        all_parsed &= _read_file(path, path.relative_to(root).as_posix(), listing, seen)
    if all_parsed:
        listing.complete_kinds = {kind.kind for kind in FABRIC_KINDS}
    return listing


def mask_credentials(text):
    """Hide ``user:password@`` in URLs, so that a message can be shown and logged."""
    return re.sub(r'(?<=://)[^/@\s]+@', '***@', str(text))


@contextlib.contextmanager
def git_environment(fabric, url=None):
    """Yield the environment for git commands that talk to the fabric's remote (clone, fetch, ls-remote).

    Pass it as ``env=`` to GitPython, inside the ``with`` block::

        with git_environment(fabric) as env:
            Git().ls_remote(url, f'refs/heads/{branch}', env=env)

    - ``git_token`` (https URLs): sent as an ``Authorization: Basic`` header through
      ``GIT_CONFIG_KEY_n``/``GIT_CONFIG_VALUE_n``, scoped to the repository's origin. It is in
      no URL, no stored git config and no command line (so in no ``GitCommandError``, log or ``ps``).
    - ``git_ssh_key``: written to a private (0600) temporary file for the duration of the
      block, used through ``GIT_SSH_COMMAND`` (host keys trusted on first use, remembered in
      ``<git cache dir>/known_hosts``), and deleted when the block ends.
    - local paths need nothing but ``GIT_ENV``.
    """
    url = fabric.git_repository_url if url is None else url
    env = dict(GIT_ENV)
    token = reveal(getattr(fabric, 'git_token', '')).strip()
    parts = urlsplit(url) if '://' in url else None
    if token and parts is not None and parts.scheme in ('http', 'https') and parts.hostname:
        user = unquote(parts.username) if parts.username else TOKEN_USER
        credentials = base64.b64encode(f'{user}:{token}'.encode()).decode()
        origin = f'{parts.scheme}://{parts.netloc.rpartition("@")[2]}/'  # host[:port], without user:password@
        env.update(
            {
                'GIT_CONFIG_COUNT': '1',
                'GIT_CONFIG_KEY_0': f'http.{origin}.extraHeader',
                'GIT_CONFIG_VALUE_0': f'Authorization: Basic {credentials}',
            }
        )
    key = reveal(getattr(fabric, 'git_ssh_key', '')).strip()
    if not key:
        yield env
        return
    known_hosts = _cache_dir() / 'known_hosts'
    descriptor, key_file = tempfile.mkstemp(prefix='hedgehog-git-key-')  # created 0600
    try:
        with os.fdopen(descriptor, 'w', encoding='utf-8', newline='\n') as file:
            # ssh refuses a key without its final newline; a browser textarea sends \r\n.
            file.write(key.replace('\r\n', '\n').replace('\r', '\n') + '\n')
        env['GIT_SSH_COMMAND'] = ' '.join(
            [
                'ssh',
                '-i',
                shlex.quote(key_file),
                '-o',
                'IdentitiesOnly=yes',
                '-o',
                'BatchMode=yes',
                '-o',
                'StrictHostKeyChecking=accept-new',
                '-o',
                f'UserKnownHostsFile={shlex.quote(str(known_hosts))}',
            ]
        )
        yield env
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(key_file)


def _update_clone(fabric, env):
    """Return the fabric's working clone, checked out (detached) at the fetched tip of its branch.

    ``env`` (from :func:`git_environment`) is given to the commands that reach the remote only;
    the clone keeps none of it, so no credential lingers in its environment or config.
    """
    url, branch = fabric.git_repository_url, fabric.git_branch
    path = _cache_dir() / f'fabric-{fabric.pk}'
    try:
        repo = _existing_clone(path, url)
        if repo is None:
            shutil.rmtree(path, ignore_errors=True)
            repo = Repo.clone_from(url, path, env=env, no_checkout=True)
            # GitPython keeps the clone's environment on the new Repo: drop all but GIT_ENV.
            repo.git.update_environment(**{name: None for name in env if name not in GIT_ENV})
        else:
            repo.git.fetch('--prune', '--force', 'origin', env=env)
    except GitCommandError as exc:
        raise SourceError(f'cannot fetch {mask_credentials(url)}: {git_error_message(exc)}') from None
    ref = f'refs/remotes/origin/{branch}'
    try:
        tip = repo.git.rev_parse('--verify', '--quiet', f'{ref}^{{commit}}')
    except GitCommandError:
        raise SourceError(f'branch {branch} does not exist in {mask_credentials(url)}') from None
    # Only this function checks out (always detached): a detached HEAD at the tip has the tip's tree.
    if not repo.head.is_detached or repo.head.commit.hexsha != tip:
        repo.git.checkout('--force', '--detach', ref)
        repo.git.clean('-ffdx')
    return repo


def _cache_dir():
    directory = Path(plugin_setting('git_cache_dir') or Path(tempfile.gettempdir()) / 'netbox-hedgehog-git')
    directory.mkdir(parents=True, exist_ok=True)
    return directory


def _existing_clone(path, url):
    """The clone at ``path`` if there is one of ``url``; None when it must be cloned anew."""
    try:
        repo = Repo(path)
    except (InvalidGitRepositoryError, NoSuchPathError):
        return None
    if 'origin' not in repo.remotes or repo.remotes.origin.url != url:
        return None
    repo.git.update_environment(**GIT_ENV)
    return repo


def git_error_message(exc):
    """What went wrong, from git's stderr: the lines up to the first ``fatal:`` (ssh explains itself before it)."""
    text = str(exc.stderr).strip().removeprefix("stderr: '").removesuffix("'")
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.startswith('Cloning into')]
    end = next((number for number, line in enumerate(lines, 1) if line.startswith(('fatal:', 'error:'))), None)
    return mask_credentials('; '.join(lines[:end]) or f'git exited with status {exc.status}')


def _yaml_files(root, base):
    """The YAML files under ``base``, sorted; symlinks that leave the repository are not followed."""
    files = (path for path in base.rglob('*') if path.suffix in ('.yaml', '.yml') and path.is_file())
    return sorted(
        path for path in files if '.git' not in path.relative_to(root).parts and path.resolve().is_relative_to(root)
    )


def _read_file(path, name, listing, seen):
    """Add the file's objects to ``listing``; return False when the file is not valid YAML."""
    try:
        documents = list(yaml.load_all(path.read_text(encoding='utf-8'), Loader=YAML_LOADER))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        listing.problems.append(f'{name}: invalid YAML at line {mark.line + 1}: {exc.problem}')
        return False
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        listing.problems.append(f'{name}: cannot be read as YAML: {exc}')
        return False
    for number, document in enumerate(documents, start=1):
        if document is None:
            continue
        problem = _document_problem(document)
        if problem is None and document['kind'] not in KINDS_BY_NAME:
            problem = f'unknown kind {document["kind"]}'
        if problem is None:
            obj = redact_resource(_resource_object(document, name))
            if obj.key in seen:
                problem = f'{obj.kind} {obj.namespace}/{obj.name} is already defined in {seen[obj.key]}'
            else:
                seen[obj.key] = f'{name} (document {number})'
                listing.objects.append(obj)
        if problem:
            listing.problems.append(f'{name}: document {number}: {problem}')
    return True


def _document_problem(document):
    if not isinstance(document, dict):
        return 'not a mapping'
    metadata = document.get('metadata')
    required = {
        'apiVersion': document.get('apiVersion'),
        'kind': document.get('kind'),
        'metadata.name': metadata.get('name') if isinstance(metadata, dict) else None,
    }
    missing = [key for key, value in required.items() if not value or not isinstance(value, str)]
    if missing:
        return f'no {", ".join(missing)}'
    if not isinstance(document.get('spec') or {}, dict):
        return 'spec is not a mapping'
    return None


def _resource_object(document, source_path):
    metadata = document['metadata']
    return ResourceObject(
        api_version=document['apiVersion'],
        kind=document['kind'],
        namespace=metadata.get('namespace') or 'default',
        name=metadata['name'],
        spec=document.get('spec') or {},
        labels=metadata.get('labels') or {},
        annotations=metadata.get('annotations') or {},
        source_path=source_path,
    )
