"""The process health banner and the dashboard widget in a real browser, before and after the worker stops.

A real worker and scheduler run; the operator's fabric list and dashboard show no problem. The worker is
stopped; on the next page load the fabric list, the fabric page and the dashboard widget say that no worker
listens, since when, and how to start one. Screenshots go to ``test-artifacts/screenshots/``.
"""

import pytest
from selenium.webdriver.common.by import By

from netbox_hedgehog.models import HedgehogFabric
from tests.live import wait_until

pytestmark = pytest.mark.integration

USERNAME, PASSWORD = 'operator', 'browser-test-password-0123'
NO_WORKER = 'No rqworker is listening on the netbox_hedgehog.hedgehog_sync queue'


def text_of(browser, element_id):
    found = browser.find_elements(By.ID, element_id)
    return found[0].text if found else None


def test_banner_and_widget_when_the_worker_stops(netbox_server, live_processes, browser, screenshots):
    from extras.models import Dashboard
    from users.models import User

    from netbox_hedgehog.widgets import FabricSyncWidget

    user = User.objects.create_user(USERNAME, password=PASSWORD, is_superuser=True)
    dashboard = Dashboard(user=user)
    dashboard.add_widget(FabricSyncWidget(), x=0, y=0)
    dashboard.save()
    fabric = HedgehogFabric.objects.create(name='health-demo', sync_enabled=False)

    browser.get(f'{netbox_server}/login/?next=/plugins/hedgehog/fabrics/')
    browser.find_element(By.ID, 'id_username').send_keys(USERNAME)
    browser.find_element(By.ID, 'id_password').send_keys(PASSWORD)
    browser.find_element(By.XPATH, "//form[@action='/login/']//button[@type='submit']").click()
    # The list once it has loaded (the address changes as the navigation starts, before the page is there).
    wait_until(
        lambda: browser.find_elements(By.XPATH, "//a[normalize-space(.)='health-demo']"),
        message='the fabric list after logging in',
    )
    assert '/plugins/hedgehog/fabrics/' in browser.current_url
    assert text_of(browser, 'hedgehog-process-health') is None
    browser.get(f'{netbox_server}/')
    widget = text_of(browser, 'hedgehog-widget-health')
    assert widget is not None and '1 worker(s) and 1 scheduler(s) alive' in widget, widget
    browser.save_screenshot(str(screenshots / 'dashboard-healthy.png'))

    live_processes.stop('worker-0')  # SIGTERM: the worker unregisters itself

    for url in ('/plugins/hedgehog/fabrics/', fabric.get_absolute_url()):
        browser.get(f'{netbox_server}{url}')
        banner = text_of(browser, 'hedgehog-process-health')
        assert banner is not None, url
        assert NO_WORKER in banner and 'last seen alive' in banner, banner
        assert 'manage.py rqworker netbox_hedgehog.hedgehog_sync' in banner, banner
        assert 'No rqscheduler is running' not in banner, banner  # the scheduler still runs
    browser.save_screenshot(str(screenshots / 'fabric-page-no-worker.png'))

    browser.get(f'{netbox_server}/')
    widget = text_of(browser, 'hedgehog-widget-health')
    assert widget is not None and NO_WORKER in widget, widget
    assert 'health-demo' in browser.find_element(By.CLASS_NAME, 'grid-stack').text
    browser.save_screenshot(str(screenshots / 'dashboard-no-worker.png'))
