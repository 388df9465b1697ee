"""The deployment files (compose, Kubernetes, systemd, Dockerfile) run the commands this plugin needs.

Every command line they contain is also parsed by the real management command's parser, so a
renamed option or a typo in a probe fails here rather than in an operator's cluster.
"""

import configparser
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from django.core.management import get_commands, load_command_class

from netbox_hedgehog.scheduling.scheduler import QUEUE_NAME

REPO = Path(__file__).resolve().parent.parent
DEPLOY = REPO / 'deploy'
PYTHON = '/opt/netbox/venv/bin/python'
MANAGE = '/opt/netbox/netbox/manage.py'
WORKER = [
    'rqworker',
    QUEUE_NAME,
    '--worker-class',
    'netbox_hedgehog.worker.SyncWorker',
    '--worker-ttl',
    '30',
    '--max-jobs',
    '10000',
]
SCHEDULER = ['hedgehog_scheduler', '--interval', '0.2']


def parse(argv):
    """Parse ``argv`` (command name first) with the installed management command's own parser."""
    name, *args = argv
    command = load_command_class(get_commands()[name], name)
    return vars(command.create_parser('manage.py', name).parse_args(args))


def manage_args(argv):
    """The arguments after ``python manage.py``, which must be NetBox's venv and manage.py."""
    assert argv[0] in (PYTHON, PYTHON + '3') and argv[1] == MANAGE, argv
    return argv[2:]


def shell_args(test):
    """Arguments of a shell health check like ``exec python manage.py hedgehog_health … || exit 1``."""
    command = test.split('||')[0].replace('$$', '$')  # compose escapes $ as $$
    return manage_args(shlex.split(command.removeprefix('exec ').strip()))


def test_every_command_line_parses():
    worker = parse(WORKER)
    assert worker['args'] == [QUEUE_NAME]
    assert (worker['worker_class'], worker['worker_ttl'], worker['max_jobs']) == (
        'netbox_hedgehog.worker.SyncWorker',
        30,
        10000,
    )
    assert parse(SCHEDULER)['interval'] == 0.2
    options = parse(['hedgehog_health', '--worker', '--hostname', 'h'])
    assert options['worker'] and not options['scheduler'] and options['hostname'] == 'h'


# --- Docker Compose ---------------------------------------------------------------------------


@pytest.fixture(scope='module')
def compose():
    """The override merged onto the netbox-docker stand-in, as ``docker-compose config`` resolves it."""
    binary = shutil.which('docker-compose')
    assert binary, 'docker-compose is missing: dev/setup installs it (apt-get install docker-compose)'
    completed = subprocess.run(
        [binary, '-f', 'docker-compose.yml', '-f', str(REPO / 'docker-compose.override.yml'), 'config'],
        cwd=DEPLOY / 'compose',
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, 'NETBOX_HEDGEHOG_SRC': str(REPO)},
    )
    assert completed.returncode == 0, completed.stderr
    return yaml.safe_load(completed.stdout)['services']


def test_shipped_worker_and_scheduler_are_what_the_scale_benchmark_runs():
    from benchmarks.scale import shipped_scheduler, shipped_worker_command

    assert shipped_worker_command() == WORKER
    assert list(shipped_scheduler()) == [SCHEDULER[0], SCHEDULER[2]]


def test_compose_worker_listens_on_the_plugin_queue(compose):
    worker = compose['netbox-hedgehog-worker']
    assert worker['deploy']['replicas'] == 2
    assert manage_args(compose['netbox-worker']['command']) == ['rqworker']  # NetBox's own, for NetBox's queues
    assert manage_args(worker['command']) == WORKER
    args = shell_args(worker['healthcheck']['test'])
    assert args == ['hedgehog_health', '--worker', '--hostname', '$HOSTNAME']
    parse(args)


def test_compose_has_a_separate_sub_second_scheduler(compose):
    scheduler = compose['netbox-hedgehog-scheduler']
    assert manage_args(scheduler['command']) == SCHEDULER
    args = shell_args(scheduler['healthcheck']['test'])
    assert args == ['hedgehog_health', '--scheduler']
    parse(args)
    assert {'postgres', 'redis'} <= set(scheduler['depends_on'])
    assert scheduler['user'] == compose['netbox']['user']
    assert scheduler['volumes'][0] == compose['netbox']['volumes'][0]  # netbox-docker's configuration


def test_compose_services_share_one_image_built_from_the_plugin(compose):
    services = [
        compose[name] for name in ('netbox', 'netbox-worker', 'netbox-hedgehog-worker', 'netbox-hedgehog-scheduler')
    ]
    assert {service['image'] for service in services} == {'netbox-hedgehog:latest'}
    for service in services:
        assert service['build'] == {'context': str(REPO), 'dockerfile': 'deploy/Dockerfile'}
        assert service['restart'] == 'unless-stopped'


def test_compose_scheduler_uses_netbox_dockers_env_file():
    # docker-compose config inlines env files, so compare the files as written.
    override = yaml.safe_load((REPO / 'docker-compose.override.yml').read_text())['services']
    base = yaml.safe_load((DEPLOY / 'compose' / 'docker-compose.yml').read_text())['services']
    assert override['netbox-hedgehog-scheduler']['env_file'] == base['netbox']['env_file'] == 'env/netbox.env'


def test_dockerfile_installs_the_plugin_into_netbox_dockers_image():
    text = (DEPLOY / 'Dockerfile').read_text()
    assert re.search(r'^ARG NETBOX_TAG=v4\.7\b', text, re.M)
    assert re.search(r'^FROM docker\.io/netboxcommunity/netbox:\$\{NETBOX_TAG\}$', text, re.M)
    assert '/usr/local/bin/uv pip install --no-cache --python /opt/netbox/venv/bin/python' in text


# --- Kubernetes -------------------------------------------------------------------------------


def deployment(name):
    documents = list(yaml.safe_load_all((DEPLOY / 'kubernetes' / f'{name}.yaml').read_text()))
    assert [document['kind'] for document in documents] == ['Deployment']
    spec = documents[0]['spec']
    assert spec['selector']['matchLabels'] == spec['template']['metadata']['labels']
    [container] = spec['template']['spec']['containers']
    return spec, container


def probe_args(probe):
    command = probe['exec']['command']
    if command[:2] == ['/bin/sh', '-c']:
        return shell_args(command[2])
    return manage_args(command)


def test_kubernetes_workers():
    spec, container = deployment('netbox-hedgehog-worker')
    assert spec['replicas'] == 2
    assert manage_args(container['command']) == WORKER
    for probe in (container['startupProbe'], container['livenessProbe']):
        args = probe_args(probe)
        assert args == ['hedgehog_health', '--worker', '--hostname', '$HOSTNAME']
        parse(args)


def test_kubernetes_single_scheduler():
    spec, container = deployment('netbox-hedgehog-scheduler')
    assert spec['replicas'] == 1 and spec['strategy'] == {'type': 'Recreate'}
    assert manage_args(container['command']) == SCHEDULER
    for probe in (container['startupProbe'], container['livenessProbe']):
        args = probe_args(probe)
        assert args == ['hedgehog_health', '--scheduler']
        parse(args)


def test_kubernetes_workers_and_scheduler_share_netboxs_config():
    worker_spec, worker = deployment('netbox-hedgehog-worker')
    scheduler_spec, scheduler = deployment('netbox-hedgehog-scheduler')
    assert worker['image'] == scheduler['image']
    assert worker['volumeMounts'] == scheduler['volumeMounts']
    assert worker_spec['template']['spec']['volumes'] == scheduler_spec['template']['spec']['volumes']


# --- systemd ----------------------------------------------------------------------------------


def unit(name):
    parser = configparser.ConfigParser(interpolation=None, strict=False)
    parser.optionxform = str
    parser.read_string((DEPLOY / 'systemd' / f'{name}.service').read_text())
    return parser


@pytest.mark.parametrize(
    'name, command, restart',
    [
        ('netbox-hedgehog-worker', WORKER, 'always'),  # it exits after --max-jobs to be started afresh
        ('netbox-hedgehog-scheduler', SCHEDULER, 'on-failure'),
    ],
)
def test_systemd_units(name, command, restart):
    service = unit(name)['Service']
    assert manage_args(shlex.split(service['ExecStart'])) == command
    assert (service['User'], service['WorkingDirectory'], service['Restart']) == ('netbox', '/opt/netbox', restart)
    assert unit(name)['Install']['WantedBy'] == 'multi-user.target'


# --- Prometheus alert rules -------------------------------------------------------------------


def test_alert_rules_are_valid_and_fire_as_specified():
    """``promtool check rules`` and the unit tests in tests/prometheus (each alert fires, and not before its time)."""
    promtool = shutil.which('promtool')
    assert promtool, 'promtool is missing: dev/setup installs it (apt-get install prometheus)'
    rules = DEPLOY / 'prometheus' / 'netbox-hedgehog-alerts.yml'
    checked = subprocess.run([promtool, 'check', 'rules', str(rules)], capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert 'SUCCESS: 7 rules found' in checked.stdout
    tested = subprocess.run(
        [promtool, 'test', 'rules', 'netbox-hedgehog-alerts.test.yml'],
        cwd=REPO / 'tests' / 'prometheus',
        capture_output=True,
        text=True,
    )
    assert tested.returncode == 0, tested.stdout + tested.stderr


def test_the_sub_second_scheduler_takes_fractions_and_refuses_nonsense(monkeypatch):
    from django.core.management import CommandError, call_command

    started = []
    monkeypatch.setattr('django_rq.get_scheduler', lambda name, interval: started.append((name, interval)) or Runner())
    call_command('hedgehog_scheduler', '--interval', '0.25')
    assert started == [(QUEUE_NAME, 0.25)]
    with pytest.raises(CommandError, match='positive number'):
        call_command('hedgehog_scheduler', '--interval', '0')


class Runner:
    def run(self):
        pass
