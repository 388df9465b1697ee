"""NetBox configuration for the test suite and for the processes the tests start.

Everything that differs between runs comes from the environment, so that the pytest
process and the `rqworker`/`rqscheduler` subprocesses it launches share one database
and one pair of Redis databases.
"""

import atexit
import gc
import os

# A process with NetBox loaded spends seconds of CPU when it exits on collecting garbage nobody will see
# (2.2 s measured at a load of 2.5; 0.15 s without). The tests' processes (pytest, rqworker, rqscheduler,
# the netbox CLI) freeze their heap at exit instead, so that collection has nothing to visit. atexit
# handlers run before it and are unaffected, as is everything a process did before it began to exit.
atexit.register(gc.freeze)

ALLOWED_HOSTS = ['*']

DATABASES = {
    'default': {
        'NAME': os.environ.get('HEDGEHOG_DB_NAME', 'netbox_hedgehog_test'),
        'USER': os.environ.get('HEDGEHOG_DB_USER', 'postgres'),
        'PASSWORD': os.environ.get('HEDGEHOG_DB_PASSWORD', ''),
        'HOST': os.environ.get('HEDGEHOG_DB_HOST', '127.0.0.1'),
        'PORT': os.environ.get('HEDGEHOG_DB_PORT', '5432'),
        'CONN_MAX_AGE': 0,
    }
}

_REDIS_HOST = os.environ.get('HEDGEHOG_REDIS_HOST', '127.0.0.1')
_REDIS_PORT = int(os.environ.get('HEDGEHOG_REDIS_PORT', '6379'))
REDIS = {
    'tasks': {
        'HOST': _REDIS_HOST,
        'PORT': _REDIS_PORT,
        'DATABASE': int(os.environ.get('HEDGEHOG_REDIS_TASKS_DB', '14')),
        'SSL': False,
    },
    'caching': {
        'HOST': _REDIS_HOST,
        'PORT': _REDIS_PORT,
        'DATABASE': int(os.environ.get('HEDGEHOG_REDIS_CACHING_DB', '15')),
        'SSL': False,
    },
}

SECRET_KEY = 'netbox-hedgehog-tests-only-0123456789abcdefghijklmnopqrstuvwxyzABCDEFG'
API_TOKEN_PEPPERS = {1: 'netbox-hedgehog-tests-only-pepper-0123456789abcdefghijklmnopqrstuvwxyz'}
DEFAULT_PERMISSIONS = {}
RQ = {'COMMIT_MODE': 'auto'}
# NetBox refuses `makemigrations` (but not `makemigrations --check`) unless DEVELOPER is set.
DEVELOPER = bool(os.environ.get('HEDGEHOG_DEVELOPER'))

PLUGINS = [] if os.environ.get('HEDGEHOG_WITHOUT_PLUGIN') else ['netbox_hedgehog']
PLUGINS_CONFIG = {
    'netbox_hedgehog': {
        'bootstrap_on_ready': False,
        'min_sync_interval': 1,
        'git_cache_dir': os.environ.get('HEDGEHOG_GIT_CACHE_DIR', '/tmp/netbox-hedgehog-tests/git'),
        # The tests' GitOps repositories are local directories.
        'allow_local_git': True,
        # tests/test_admin.py runs its admin tests in a subprocess with this set (INSTALLED_APPS is fixed per process).
        'enable_django_admin': bool(os.environ.get('HEDGEHOG_ENABLE_DJANGO_ADMIN')),
    },
}

LOGGING = {'version': 1, 'disable_existing_loggers': False}

# Fault-injection tests and benchmarks shorten these for the processes they start (unset: the plugin's defaults).
for _variable, _setting, _type in (
    ('HEDGEHOG_LOCK_EXPIRE', 'lock_expire', int),
    ('HEDGEHOG_KUBERNETES_TIMEOUT', 'kubernetes_timeout', float),
    ('HEDGEHOG_SYNC_JOB_TIMEOUT', 'sync_job_timeout', int),
):
    if os.environ.get(_variable):
        PLUGINS_CONFIG['netbox_hedgehog'][_setting] = _type(os.environ[_variable])
