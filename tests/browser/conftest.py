"""A real NetBox web server (``netbox runserver``), plus the integration fixtures (worker, scheduler,
GitOps repository) and a headless Chromium driven by Selenium.

Chromium and chromedriver come from Debian (``dev/setup`` installs them); Selenium is told
where both are, so it never tries to download a browser or a driver.
"""

import os
import shutil
import socket
import subprocess
import urllib.request
from pathlib import Path

import pytest

from tests.integration.conftest import ARTIFACTS, live_processes  # noqa: F401
from tests.live import NETBOX, PATIENCE, wait_until

CHROMIUM = shutil.which('chromium') or '/usr/bin/chromium'
CHROMEDRIVER = shutil.which('chromedriver') or '/usr/bin/chromedriver'
SCREENSHOTS = ARTIFACTS / 'screenshots'


def _free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def _answers(url):
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status == 200
    except OSError:
        return False


@pytest.fixture
def netbox_server(transactional_db, tmp_path):
    """``netbox runserver`` in a subprocess with the tests' environment; yields its base URL.

    Depends on ``transactional_db``: the data a test creates is committed, so the server sees it.
    """
    from django.conf import settings
    from django.core.management import call_command

    call_command('collectstatic', interactive=False, verbosity=0)
    assert Path(settings.STATIC_ROOT, 'netbox.css').is_file()
    port = _free_port()
    log_path = ARTIFACTS / 'browser' / 'web.log'
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, 'wb') as log:
        process = subprocess.Popen(
            [NETBOX, 'runserver', f'127.0.0.1:{port}', '--noreload', '--insecure'],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=os.environ.copy(),
            start_new_session=True,
        )
    base_url = f'http://127.0.0.1:{port}'
    try:

        def ready():
            if process.poll() is not None:
                raise RuntimeError(f'runserver exited with {process.returncode}:\n{log_path.read_text()[-3000:]}')
            return _answers(f'{base_url}/login/')

        wait_until(ready, interval=0.5, message='NetBox answering HTTP')
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def browser(tmp_path):
    """Headless Chromium with a fresh profile."""
    if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
        pytest.fail(
            f'{CHROMIUM} and {CHROMEDRIVER} are needed: run ./dev/setup (apt-get install chromium chromium-driver)'
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-dev-shm-usage',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        '--window-size=1440,1800',
        f'--user-data-dir={tmp_path / "chromium-profile"}',
    ):
        options.add_argument(flag)
    service = Service(executable_path=CHROMEDRIVER, log_output=str(tmp_path / 'chromedriver.log'))
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(PATIENCE)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def screenshots():
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
