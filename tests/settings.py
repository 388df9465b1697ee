"""Django settings for pytest: NetBox's own settings, with the test configuration selected.

pytest-django imports the settings module before any conftest.py runs, so the environment
NetBox's settings read must be in place by then. Pointing DJANGO_SETTINGS_MODULE here
(pyproject's ``[tool.pytest.ini_options]``) lets a plain ``pytest`` work without
``dev/test``; the variables below are only defaults, ``dev/test`` and CI set the same ones.
"""

import os
import tempfile

os.environ.setdefault('NETBOX_CONFIGURATION', 'tests.netbox_configuration')
os.environ.setdefault('NETBOX_ROOT', os.path.join(tempfile.gettempdir(), 'netbox-hedgehog-tests', 'root'))

from netbox.settings import *  # noqa: E402,F401,F403
