"""The fabric as NetBox data in a real browser against a real NetBox: a mapped switch's device page shows the
Hedgehog panel, and NetBox's cable trace page of a mapped server port renders and reaches the leaf port.
Screenshots are saved in ``test-artifacts/screenshots/``."""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from netbox_hedgehog.models import HedgehogFabric
from netbox_hedgehog.sync.pipeline import sync_fabric
from tests.live import PATIENCE

pytestmark = pytest.mark.integration

USERNAME, PASSWORD = 'operator', 'browser-test-password-0123'


def test_device_page_shows_the_hedgehog_panel_and_the_cable_trace_renders(
    netbox_server, gitops_repo, browser, screenshots
):
    from dcim.models import Device, Interface, Site
    from users.models import User

    User.objects.create_user(USERNAME, password=PASSWORD, is_superuser=True)
    site = Site.objects.create(name='DC 1', slug='dc-1')
    fabric = HedgehogFabric.objects.create(
        name='browser-dcim',
        git_repository_url=str(gitops_repo),
        scheduler_enabled=False,
        dcim_sync=True,
        dcim_site=site,
    )
    result = sync_fabric(fabric)
    assert result.succeeded, result.error_text()
    leaf = Device.objects.get(name='leaf-01')
    port = Interface.objects.get(device__name='server-03', name='enp2s1')
    wait = WebDriverWait(browser, PATIENCE)

    browser.get(f'{netbox_server}/login/?next=/dcim/devices/{leaf.pk}/')
    browser.find_element(By.ID, 'id_username').send_keys(USERNAME)
    browser.find_element(By.ID, 'id_password').send_keys(PASSWORD)
    browser.find_element(By.XPATH, "//form[@action='/login/']//button[@type='submit']").click()
    panel = wait.until(expected_conditions.visibility_of_element_located((By.ID, 'hedgehog_panel')))
    browser.save_screenshot(str(screenshots / 'device-hedgehog-panel.png'))
    assert 'Hedgehog' in panel.text and 'browser-dcim' in panel.text and 'Switch' in panel.text
    assert 'default/leaf-01' in panel.text
    panel.find_element(By.LINK_TEXT, 'browser-dcim').click()
    wait.until(expected_conditions.url_contains(fabric.get_absolute_url()))

    browser.get(f'{netbox_server}/dcim/interfaces/{port.pk}/trace/')
    wait.until(expected_conditions.visibility_of_element_located((By.XPATH, "//h3[contains(., 'Trace Completed')]")))
    svg = browser.find_element(By.XPATH, '//object[contains(@class, "rack_elevation")]').get_attribute('data')
    browser.save_screenshot(str(screenshots / 'cable-trace.png'))
    browser.get(svg if svg.startswith('http') else f'{netbox_server}{svg}')
    assert 'leaf-02' in browser.page_source and 'E1/2' in browser.page_source
