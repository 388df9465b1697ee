"""The fabric pages in a real browser against a real NetBox, worker and scheduler.

An operator logs in through the login form, opens the fabric list and a fabric that syncs
from a local GitOps repository, presses "Sync now", and sees the manual run appear in the
page's sync-runs table once the worker has run it; then "Test connection", whose result
appears in the page's "Connection test" panel. Screenshots of each step are saved in
``test-artifacts/screenshots/``.
"""

import pytest
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.ui import WebDriverWait

from netbox_hedgehog.choices import ConnectionStatusChoices, SyncOutcomeChoices, SyncTriggerChoices
from netbox_hedgehog.models import HedgehogFabric, HedgehogResource, SyncRun
from tests.faults.checks import fabric_after
from tests.live import PATIENCE, wait_until

pytestmark = pytest.mark.integration

USERNAME, PASSWORD = 'operator', 'browser-test-password-0123'
SYNC_RUNS_TABLE = "//div[contains(@class, 'card')][.//h2[contains(normalize-space(.), 'Last sync runs')]]//table"


def sync_run_rows(driver):
    """(trigger, outcome) text of each row of the detail page's sync-runs table."""
    rows = driver.find_elements(By.XPATH, f'{SYNC_RUNS_TABLE}/tbody/tr')
    result = []
    for row in rows:
        cells = [cell.text.strip() for cell in row.find_elements(By.TAG_NAME, 'td')]
        if len(cells) > 1:  # "— No sync runs —" is a single cell
            result.append(cells)
    return result


def test_login_list_detail_and_sync_now(netbox_server, live_processes, gitops_repo, browser, screenshots):
    from users.models import User

    User.objects.create_user(USERNAME, password=PASSWORD, is_superuser=True)
    fabric = HedgehogFabric.objects.create(
        name='browser-demo',
        description='Demo wiring from a local GitOps repository',
        git_repository_url=str(gitops_repo),
        git_branch='main',
        sync_interval=3600,
    )
    # Creating the fabric schedules its chain; the scheduler and worker run the first sync at once.
    first = wait_until(
        lambda: SyncRun.objects.filter(fabric=fabric).exclude(outcome=SyncOutcomeChoices.RUNNING).first(),
        interval=0.5,
        message='the first scheduled sync finished',
    )
    assert (first.trigger, first.outcome) == (SyncTriggerChoices.SCHEDULE, SyncOutcomeChoices.SUCCESS), first.error
    fabric_after(first)  # the pages show the fabric's state, written just after the run's record
    resource_count = fabric.resources.count()
    assert resource_count > 0

    wait = WebDriverWait(browser, PATIENCE)

    # Log in through the form.
    browser.get(f'{netbox_server}/login/?next=/plugins/hedgehog/fabrics/')
    browser.find_element(By.ID, 'id_username').send_keys(USERNAME)
    browser.find_element(By.ID, 'id_password').send_keys(PASSWORD)
    browser.find_element(By.XPATH, "//form[@action='/login/']//button[@type='submit']").click()
    wait.until(expected_conditions.url_contains('/plugins/hedgehog/fabrics/'))

    # The fabric list: the fabric, its sync status and its resource count.
    row = wait.until(
        expected_conditions.presence_of_element_located(
            (By.XPATH, "//table//tr[.//a[normalize-space(.)='browser-demo']]"),
        )
    )
    assert 'In sync' in row.text
    assert str(resource_count) in row.text.split()
    browser.save_screenshot(str(screenshots / 'fabric-list.png'))

    # The detail page, before "Sync now": one scheduled run.
    row.find_element(By.LINK_TEXT, 'browser-demo').click()
    wait.until(expected_conditions.url_contains(f'/plugins/hedgehog/fabrics/{fabric.pk}/'))
    wait.until(expected_conditions.presence_of_element_located((By.XPATH, SYNC_RUNS_TABLE)))
    assert browser.find_elements(By.XPATH, "//h1[contains(normalize-space(.), 'browser-demo')]")
    panel_text = browser.find_element(By.TAG_NAME, 'body').text
    assert str(gitops_repo) in panel_text
    assert 'Test connection' in panel_text
    before = sync_run_rows(browser)
    assert len(before) == 1 and before[0][0:1] != ['Manual'], before
    assert not any('Manual' in cells for cells in before), before
    browser.save_screenshot(str(screenshots / 'fabric-detail-before.png'))

    # Press "Sync now": the page comes back with the "Queued a sync" message at once.
    browser.find_element(By.XPATH, "//button[normalize-space(.)='Sync now']").click()
    wait.until(
        expected_conditions.presence_of_element_located(
            (By.XPATH, "//*[contains(normalize-space(.), 'Queued a sync of browser-demo')]"),
        )
    )

    # Once the worker has recorded the manual run (and the fabric's state after it), a reload shows it.
    run = wait_until(
        lambda: (
            SyncRun.objects.filter(fabric=fabric, trigger=SyncTriggerChoices.MANUAL).exclude(finished_at=None).first()
        ),
        interval=0.2,
        message='the manual run recorded',
    )
    assert run.outcome == SyncOutcomeChoices.SUCCESS, run.error
    fabric_after(run)
    browser.refresh()
    wait.until(expected_conditions.presence_of_element_located((By.XPATH, SYNC_RUNS_TABLE)))
    rows = sync_run_rows(browser)
    assert rows[0][1] == 'Manual' and 'Success' in rows[0], rows  # the newest run heads the table
    assert SyncRun.objects.filter(fabric=fabric).count() == 2  # the scheduled run is still recorded
    browser.save_screenshot(str(screenshots / 'fabric-detail-after.png'))

    # "Test connection": queued, run by the worker, its result shown in the "Connection test" panel.
    browser.find_element(By.XPATH, "//button[normalize-space(.)='Test connection']").click()
    wait.until(
        expected_conditions.presence_of_element_located(
            (By.XPATH, "//*[contains(normalize-space(.), 'Queued a connection test of browser-demo')]"),
        )
    )
    wait_until(
        lambda: HedgehogFabric.objects.get(pk=fabric.pk).connection_message.startswith('Git: OK'),
        interval=0.2,
        message='the connection test recorded',
    )
    browser.refresh()
    result = browser.find_element(By.ID, 'attr_connection_message').text
    assert f'{gitops_repo}: branch main at' in result
    browser.save_screenshot(str(screenshots / 'fabric-detail-connection.png'))
    fabric.refresh_from_db()
    assert fabric.connection_status == ConnectionStatusChoices.CONNECTED

    # A Connection's page: its key fields, with links to the switch and server rows it names.
    connection = HedgehogResource.objects.get(fabric=fabric, kind='Connection', name='server-03--unbundled--leaf-02')
    browser.get(f'{netbox_server}{connection.get_absolute_url()}')
    page = browser.find_element(By.TAG_NAME, 'body').text
    assert 'unbundled' in page
    leaf = HedgehogResource.objects.get(fabric=fabric, kind='Switch', name='leaf-02')
    assert browser.find_elements(By.XPATH, f"//a[@href='{leaf.get_absolute_url()}']"), 'no link to leaf-02'
    browser.save_screenshot(str(screenshots / 'resource-connection.png'))
