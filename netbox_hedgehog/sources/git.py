"""Read a fabric's custom resources from the YAML files of its GitOps repository.

Everything here treats the repository URL (written by a fabric editor) and the repository's
content (written by anyone who may push) as hostile: URLs are checked before git sees them,
git runs with a whitelist of transports, a timeout and no terminal, and YAML is read within
size, document-count and nesting limits, without anchors or aliases.
"""

import base64
import contextlib
import os
import re
import shlex
import shutil
import signal
import stat
import subprocess
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from urllib.parse import unquote, urlsplit

import yaml
from git import GitCommandError, InvalidGitRepositoryError, NoSuchPathError, Repo

from ..choices import ResourceSourceChoices
from ..fields import reveal
from ..kinds import FABRIC_KINDS, KINDS_BY_NAME
from ..settings import plugin_setting
from .base import ResourceObject, Source, SourceCheck, SourceError, SourceListing, register_source
from .normalise import MAX_DEPTH, object_problem
from .redact import redact_resource

# Git must fail rather than wait for a password on a terminal that a worker does not have.
GIT_ENV = {'GIT_TERMINAL_PROMPT': '0'}
# The transports git may use (GIT_ALLOW_PROTOCOL); 'file' only with the allow_local_git setting.
REMOTE_SCHEMES = ('https', 'http', 'ssh', 'git')
# The user name sent with a token when the URL names none (GitHub's; GitLab, Gitea and Azure accept any).
TOKEN_USER = 'x-access-token'
# libyaml parses ~10x faster than PyYAML's pure-Python loader; same safe subset.
YAML_LOADER = getattr(yaml, 'CSafeLoader', yaml.SafeLoader)
# git's rule: without "://", a colon before the first slash makes an scp-like ssh location (host:path).
SCP_LIKE = re.compile(r'^[^/]*:')
PASSWORD_IN_URL = 'Do not put a password in the URL: give it (or an access token) in the Git token field.'


def read_git_repository(fabric, stored=None):
    """Read every fabric object from the tip of the fabric's branch.

    The working clone is reset to ``origin/<branch>`` on every run, so a force-pushed
    branch is followed like any other change. A kind is listed as complete (and so may be
    pruned) only when no document that may have held one of its objects was skipped.

    With ``stored`` (see ``Source.fetch``), a file whose blob is the one the fabric's
    ``git_files`` recorded as read without a problem is not parsed again: the stored rows
    read from it are its objects, listed as ``unchanged``. The listing's ``state`` is the
    new record, for the run to store.
    """
    check_git_source(fabric)
    with git_environment(fabric) as env:
        repo = _update_clone(fabric, env)
    root = Path(repo.working_tree_dir).resolve()
    base = (root / fabric.git_path.strip('/')).resolve()
    if not base.is_relative_to(root) or not base.is_dir():
        raise SourceError(f'the path "{fabric.git_path}" does not exist in branch {fabric.git_branch}')
    namespace = fabric.kubernetes_namespace or 'default'
    reader = _RepositoryReader(repo.head.commit.hexsha, namespace)
    started = time.perf_counter()
    blobs = _blobs(repo)
    known = _known_files(fabric.git_files, namespace, stored) if stored else {}
    for path in _yaml_files(root, base):
        name = path.relative_to(root).as_posix()
        reader.read_file(path, name, blobs.get(name), known.get((name, blobs.get(name))))
    listing = reader.listing()
    listing.state = {'namespace': namespace, 'files': reader.clean_files}
    listing.parse_seconds = time.perf_counter() - started
    return listing


def _blobs(repo):
    """The blob of each regular file at the checked-out commit, by path (symlinks left out: their blob is the link)."""
    blobs = {}
    for entry in repo.git.ls_tree('-r', '-z', 'HEAD').split('\0'):
        if entry:
            info, _tab, path = entry.partition('\t')
            mode, _type, blob = info.split()
            if mode in ('100644', '100755'):
                blobs[path] = blob
    return blobs


def _known_files(record, namespace, stored):
    """``{(path, blob): keys}`` of the files that need no parsing: read without a problem at that blob last time.

    Their objects are the stored rows read from them that their source still lists. Nothing is known
    when the fabric's namespace, every object's default, changed.
    """
    if not record or record.get('namespace') != namespace:
        return {}
    keys = defaultdict(list)
    for key, row in stored.items():
        if row['last_listed'] is None:
            keys[row['source_path']].append(key)
    return {(path, blob): keys[path] for path, blob in record.get('files', {}).items() if keys[path]}


def remote_branch_commit(fabric):
    """The commit at the tip of the fabric's branch on its remote (``git ls-remote``), or None without that branch.

    The same checks, environment and timeout as a sync's fetch; raises :class:`SourceError`.
    """
    check_git_source(fabric)
    url = fabric.git_repository_url
    with git_environment(fabric) as env:
        output = _run_remote_git(['ls-remote', '--', url, f'refs/heads/{fabric.git_branch}'], env, 'reach', url)
    return output.split()[0] if output.strip() else None


def git_source_problem(fabric):
    """Why the fabric's Git repository must not be used; None when it may.

    Called when a fabric is saved (its ``clean()``) and again before every git command,
    for fabrics saved before a rule existed.
    """
    url = fabric.git_repository_url
    if not url:
        return None
    if url.startswith('-'):
        return 'A repository location must not start with "-".'
    if any(character.isspace() or not character.isprintable() for character in url):
        return 'A repository location must not contain spaces or control characters.'
    if '::' in url.split('/', 1)[0]:
        return 'Git remote helpers ("transport::address") are not supported; give an https:// or ssh:// URL.'
    if '://' in url:
        try:
            parts = urlsplit(url)
            parts.port  # parses the port: a bad one raises here rather than in git_environment
        except ValueError:
            return 'The repository URL cannot be parsed (check the host and the port).'
        scheme = parts.scheme.lower()
        if scheme not in (*REMOTE_SCHEMES, 'file'):
            return f'The scheme {scheme}:// is not supported; give an https://, http://, ssh:// or git:// URL.'
        if parts.password is not None:
            return PASSWORD_IN_URL
        if scheme == 'http' and reveal(getattr(fabric, 'git_token', '')).strip():
            if not fabric.allow_insecure_transport:
                return (
                    'The Git token would travel unencrypted over http://: use https://, or turn on '
                    '"allow insecure transport" for this fabric.'
                )
        local = Path(unquote(parts.path)) if scheme == 'file' else None
    elif SCP_LIKE.match(url):
        if '@' in url.split('/', 1)[0] and ':' in url.split('@', 1)[0]:
            return PASSWORD_IN_URL
        local = None
    else:
        local = Path(url)
    return _local_problem(local) if local is not None else None


def check_git_source(fabric):
    """Raise :class:`SourceError` when :func:`git_source_problem` refuses the fabric's repository."""
    problem = git_source_problem(fabric)
    if problem:
        raise SourceError(problem)


def _local_problem(path):
    if not plugin_setting('allow_local_git'):
        return (
            'Local repositories (file:// URLs and paths on the NetBox server) are not allowed; '
            'the administrator can allow them with the plugin setting allow_local_git.'
        )
    if not path.is_absolute():
        return 'A local repository must be given by its absolute path.'
    try:
        resolved, cache = path.resolve(), _cache_root().resolve()
    except SourceError as exc:
        return str(exc)
    if resolved == cache or resolved.is_relative_to(cache):
        return "A repository inside the plugin's Git cache (git_cache_dir) cannot be used."
    return None


def mask_credentials(text):
    """Hide ``user:password@`` in URLs, so that a message can be shown and logged."""
    return re.sub(r'(?<=://)[^/@\s]+@', '***@', str(text))


@contextlib.contextmanager
def git_environment(fabric, url=None):
    """Yield the environment for git commands that talk to the fabric's remote (clone, fetch, ls-remote).

    - ``GIT_ALLOW_PROTOCOL`` limits git to https, http, ssh and git (and local paths only with
      the ``allow_local_git`` setting), whatever the URL or the repository's submodules say.
    - ``git_token`` (https URLs; http only with ``allow_insecure_transport``): sent as an
      ``Authorization: Basic`` header through ``GIT_CONFIG_KEY_n``/``GIT_CONFIG_VALUE_n``, scoped
      to the repository's origin. It is in no URL, no stored git config and no command line (so
      in no ``GitCommandError``, log or ``ps``).
    - ``git_ssh_key``: written to a private (0600) temporary file for the duration of the
      block, used through ``GIT_SSH_COMMAND`` with the host key policy of the
      ``git_ssh_host_key_policy`` setting (known hosts kept in the private Git cache directory),
      and deleted when the block ends.
    """
    url = fabric.git_repository_url if url is None else url
    protocols = [*REMOTE_SCHEMES, 'file'] if plugin_setting('allow_local_git') else REMOTE_SCHEMES
    env = {**GIT_ENV, 'GIT_ALLOW_PROTOCOL': ':'.join(protocols)}
    token = reveal(getattr(fabric, 'git_token', '')).strip()
    parts = urlsplit(url) if '://' in url else None
    if token and parts is not None and parts.hostname and _may_send_token(fabric, parts.scheme):
        user = unquote(parts.username) if parts.username else TOKEN_USER
        credentials = base64.b64encode(f'{user}:{token}'.encode()).decode()
        origin = f'{parts.scheme}://{parts.netloc.rpartition("@")[2]}/'  # host[:port], without user@
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
    descriptor, key_file = tempfile.mkstemp(prefix='hedgehog-git-key-')  # created 0600
    try:
        with os.fdopen(descriptor, 'w', encoding='utf-8', newline='\n') as file:
            # ssh refuses a key without its final newline; a browser textarea sends \r\n.
            file.write(key.replace('\r\n', '\n').replace('\r', '\n') + '\n')
        env['GIT_SSH_COMMAND'] = ' '.join(
            ['ssh', '-i', shlex.quote(key_file), '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes']
            + _host_key_options()
        )
        yield env
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(key_file)


def _may_send_token(fabric, scheme):
    return scheme == 'https' or (scheme == 'http' and fabric.allow_insecure_transport)


def _host_key_options():
    """ssh options for the ``git_ssh_host_key_policy`` setting, with known hosts in the private cache directory."""
    policy = plugin_setting('git_ssh_host_key_policy')
    known_hosts_text = (plugin_setting('git_ssh_known_hosts') or '').strip()
    if policy == 'strict':
        if not known_hosts_text:
            raise SourceError(
                'The plugin setting git_ssh_host_key_policy is "strict" but git_ssh_known_hosts is empty: '
                "add the Git server's host key (a known_hosts line) to git_ssh_known_hosts."
            )
        known_hosts, checking = _cache_dir() / 'known_hosts.pinned', 'yes'
        known_hosts.write_text(known_hosts_text + '\n')
    elif policy == 'accept-new':
        known_hosts, checking = _cache_dir() / 'known_hosts', 'accept-new'
        if known_hosts_text and not known_hosts.exists():
            known_hosts.write_text(known_hosts_text + '\n')
    else:
        raise SourceError(
            f'The plugin setting git_ssh_host_key_policy must be "accept-new" or "strict", not {policy!r}.'
        )
    return ['-o', f'StrictHostKeyChecking={checking}', '-o', f'UserKnownHostsFile={shlex.quote(str(known_hosts))}']


def _run_remote_git(arguments, env, verb, url, cwd=None):
    """Run a git command that talks to the remote; return its output or raise :class:`SourceError`.

    git runs in a session of its own, so that on ``git_timeout`` (or any exception here,
    such as the job's own timeout) every process it started (remote helpers, ssh) is
    killed with it: nothing is left holding the worker.
    """
    timeout = plugin_setting('git_timeout')
    process = subprocess.Popen(
        ['git', *arguments],
        cwd=cwd,
        env={**os.environ, **env},
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors='replace',
        start_new_session=True,
    )
    try:
        output, errors = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        raise SourceError(
            f'git {arguments[0]} of {mask_credentials(url)} did not finish within {timeout} s '
            '(plugin setting git_timeout)'
        ) from None
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
    if process.returncode:
        exc = GitCommandError(['git', arguments[0]], process.returncode, errors)
        raise SourceError(f'cannot {verb} {mask_credentials(url)}: {git_error_message(exc)}')
    return output


def _update_clone(fabric, env):
    """Return the fabric's working clone, checked out (detached) at the fetched tip of its branch.

    ``env`` (from :func:`git_environment`) is given to the commands that reach the remote only;
    the clone keeps none of it, so no credential lingers in its environment or config.
    """
    url, branch = fabric.git_repository_url, fabric.git_branch
    path = _cache_dir() / f'fabric-{fabric.pk}'
    repo = _existing_clone(path, url)
    if repo is None:
        shutil.rmtree(path, ignore_errors=True)
        # --no-local: a local source is read through git's transport, never by linking or copying its files.
        _run_remote_git(['clone', '--no-checkout', '--no-local', '--', url, str(path)], env, 'fetch', url)
        repo = Repo(path)
    else:
        _run_remote_git(['fetch', '--prune', '--force', 'origin'], env, 'fetch', url, cwd=path)
    repo.git.update_environment(**GIT_ENV)
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


def _cache_root():
    """The Git cache directory: the ``git_cache_dir`` setting, else ``$XDG_CACHE_HOME/netbox-hedgehog/git``.

    Not NetBox's MEDIA_ROOT (NetBox serves every file there to any logged-in user) and no
    fixed path in the shared temporary directory (another local user could create it first).
    """
    configured = plugin_setting('git_cache_dir')
    if configured:
        return Path(configured)
    try:
        return Path(os.environ.get('XDG_CACHE_HOME') or Path.home() / '.cache') / 'netbox-hedgehog' / 'git'
    except RuntimeError:  # no home directory
        raise SourceError("The worker's user has no home directory: set the plugin setting git_cache_dir.") from None


def _cache_dir():
    """The Git cache directory, created and kept private (0700): clones and known hosts live there."""
    directory = _cache_root()
    try:
        directory.mkdir(mode=0o700, parents=True, exist_ok=True)
        if stat.S_IMODE(directory.stat().st_mode) != 0o700:
            directory.chmod(0o700)
    except OSError as exc:
        raise SourceError(
            f'cannot use the Git cache directory {directory}: {exc.strerror} (plugin setting git_cache_dir)'
        ) from None
    return directory


def _existing_clone(path, url):
    """The clone at ``path`` if there is one of ``url``; None when it must be cloned anew."""
    try:
        repo = Repo(path)
    except (InvalidGitRepositoryError, NoSuchPathError):
        return None
    if 'origin' not in repo.remotes or repo.remotes.origin.url != url:
        return None
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


class FileRefused(Exception):
    """A whole file is skipped; the message says why, for the run's problems."""


class _RepositoryReader:
    """Turns the YAML files of one checkout into a :class:`SourceListing`, within the content limits.

    Tracks which kinds may have lost an object to a skipped document: a file that is skipped
    as a whole, or a document whose kind cannot be told, makes every kind incomplete.
    """

    def __init__(self, revision, namespace):
        self.revision = revision
        self.namespace = namespace
        self.objects, self.problems, self.seen = [], [], {}
        self.unchanged, self.clean_files = set(), {}
        self.incomplete_kinds, self.all_incomplete = set(), False
        self.bytes_read = 0
        self.max_file_size = plugin_setting('git_max_file_size')
        self.max_total_size = plugin_setting('git_max_total_size')
        self.max_documents = plugin_setting('git_max_documents')

    def listing(self):
        complete = set() if self.all_incomplete else {kind.kind for kind in FABRIC_KINDS} - self.incomplete_kinds
        return SourceListing(
            source='git',
            objects=self.objects,
            complete_kinds=complete,
            revision=self.revision,
            problems=self.problems,
            unchanged=self.unchanged,
        )

    def read_file(self, path, name, blob=None, known_keys=None):
        """Take the objects of one file; ``known_keys``: those of an unchanged file, taken without parsing it.

        An unchanged file is parsed after all when one of its objects was already defined in
        an earlier file. A file whose objects were all taken is recorded as clean at ``blob``.
        """
        problems = len(self.problems)
        try:
            if known_keys and not any(key in self.seen for key in known_keys):
                self._count(path)
                for key in known_keys:
                    self.seen[key] = name
                self.unchanged.update(known_keys)
            else:
                for number, (line, document) in enumerate(self._load(path), start=1):
                    if document is not None:
                        self._take(document, name, f'document {number} (line {line})')
        except FileRefused as exc:
            self.problems.append(f'{name}: {exc}')
            self.all_incomplete = True
        if blob and len(self.problems) == problems:
            self.clean_files[name] = blob

    def _count(self, path):
        """Count the file against the run's size limits; :class:`FileRefused` when it breaks one."""
        size = path.stat().st_size
        if size > self.max_file_size:
            raise FileRefused(
                f'not read: {size} bytes, more than the {self.max_file_size} bytes a file may have '
                '(plugin setting git_max_file_size)'
            )
        if self.bytes_read + size > self.max_total_size:
            raise FileRefused(
                f'not read: with it this run would read more than {self.max_total_size} bytes of YAML '
                '(plugin setting git_max_total_size)'
            )
        self.bytes_read += size

    def _load(self, path):
        """The file's documents as (first line, document) pairs; :class:`FileRefused` when it breaks a limit."""
        self._count(path)
        try:
            text = path.read_text(encoding='utf-8')
            lines = self._check_structure(text)
            return list(zip(lines, yaml.load_all(text, Loader=YAML_LOADER), strict=True))
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            raise FileRefused(f'invalid YAML at line {mark.line + 1}: {exc.problem}') from None
        except (yaml.YAMLError, UnicodeDecodeError, ValueError) as exc:
            # ValueError: a scalar libyaml accepts but Python cannot build (2024-13-45, a 5000-digit integer)
            raise FileRefused(f'cannot be read as YAML: {exc}') from None

    def _check_structure(self, text):
        """The first line of each document; refuses anchors and aliases, deep nesting and too many documents.

        Runs on libyaml's event stream before anything is built: an alias bomb or a deeply
        nested file is refused after reading its first offending event, in constant memory
        (libyaml's composer recurses on nesting and would crash the process on deep input).
        """
        lines, depth = [], 0
        for event in yaml.parse(text, Loader=YAML_LOADER):
            line = event.start_mark.line + 1
            if isinstance(event, yaml.AliasEvent) or getattr(event, 'anchor', None) is not None:
                raise FileRefused(
                    f'YAML anchors and aliases (&name, *name) are not accepted (line {line}); write the values out'
                )
            if isinstance(event, yaml.DocumentStartEvent):
                if len(lines) == self.max_documents:
                    raise FileRefused(
                        f'more than {self.max_documents} YAML documents (plugin setting git_max_documents)'
                    )
                lines.append(line)
            elif isinstance(event, yaml.CollectionStartEvent):
                depth += 1
                if depth > MAX_DEPTH:
                    raise FileRefused(f'nested deeper than {MAX_DEPTH} levels (line {line})')
            elif isinstance(event, yaml.CollectionEndEvent):
                depth -= 1
        return lines

    def _take(self, document, name, where):
        """Add one document's object, or record why it was skipped and which kinds that leaves incomplete."""
        kind = document.get('kind') if isinstance(document, dict) else None
        problem = _document_problem(document)
        if problem is None and kind not in KINDS_BY_NAME:
            self.problems.append(f'{name}: {where}: unknown kind {kind}')  # not a fabric kind: nothing of ours lost
            return
        if problem is None:
            obj = _resource_object(document, name, self.namespace)
            problem = object_problem(obj)
        if problem is None and obj.key in self.seen:
            problem = f'{obj.kind} {obj.namespace}/{obj.name} is already defined in {self.seen[obj.key]}'
        elif problem is None:
            self.seen[obj.key] = f'{name} ({where})'
            self.objects.append(redact_resource(obj))
            return
        elif not isinstance(kind, str):
            self.all_incomplete = True  # which kind the document meant cannot be told
        elif kind in KINDS_BY_NAME:
            self.incomplete_kinds.add(kind)
        self.problems.append(f'{name}: {where}: {problem}')


def _document_problem(document):
    if not isinstance(document, dict):
        return 'not a mapping'
    metadata = document.get('metadata')
    required = {
        'apiVersion': document.get('apiVersion'),
        'kind': document.get('kind'),
        'metadata.name': metadata.get('name') if isinstance(metadata, dict) else None,
    }
    missing = [key for key, value in required.items() if value is None or value == '']
    if missing:
        return f'no {", ".join(missing)}'
    for key, value in required.items():
        if not isinstance(value, str):
            return f'{key} must be text, not {type(value).__name__} {value!r:.40} (quote it)'
    if not isinstance(document.get('spec') or {}, dict):
        return 'spec is not a mapping'
    return None


def _resource_object(document, source_path, namespace):
    """The object of a checked document; a missing namespace is the fabric's, as the cluster would apply it."""
    metadata = document['metadata']
    given = metadata.get('namespace')
    return ResourceObject(
        api_version=document['apiVersion'],
        kind=document['kind'],
        namespace=namespace if given is None or given == '' else given,
        name=metadata['name'],
        spec=document.get('spec') or {},
        labels=metadata.get('labels') or {},
        annotations=metadata.get('annotations') or {},
        source_path=source_path,
    )


@register_source
class GitSource(Source):
    """The fabric's GitOps repository: the custom resources its branch declares."""

    name = ResourceSourceChoices.GIT
    label = 'Git'
    step = 'fetch_git'
    revision_field = 'git_commit'
    read_at_field = 'git_read_at'
    parse_step = 'parse_git'
    state_field = 'git_files'
    setup_hint = 'a Git repository'

    @classmethod
    def is_configured(cls, fabric):
        return fabric.has_git_source

    def fetch(self, stored=None):
        return read_git_repository(self.fabric, stored)

    def probe(self):
        """``git ls-remote`` the fabric's branch: proves the URL, the credentials and that the branch exists."""
        try:
            commit = remote_branch_commit(self.fabric)
        except SourceError as exc:
            return SourceCheck(False, str(exc))
        shown = mask_credentials(self.fabric.git_repository_url)
        if commit is None:
            return SourceCheck(False, f'{shown} has no branch {self.fabric.git_branch}')
        return SourceCheck(True, f'{shown}: branch {self.fabric.git_branch} at {commit[:12]}')
