from django.utils.translation import gettext_lazy as _
from utilities.choices import ChoiceSet


class SyncStatusChoices(ChoiceSet):
    """Where a fabric's record in NetBox stands against its sources."""

    NEVER_SYNCED = 'never_synced'
    SYNCING = 'syncing'
    IN_SYNC = 'in_sync'
    OUT_OF_SYNC = 'out_of_sync'
    ERROR = 'error'

    CHOICES = [
        (NEVER_SYNCED, _('Never synced'), 'gray'),
        (SYNCING, _('Syncing'), 'blue'),
        (IN_SYNC, _('In sync'), 'green'),
        (OUT_OF_SYNC, _('Out of sync'), 'orange'),
        (ERROR, _('Error'), 'red'),
    ]


class ConnectionStatusChoices(ChoiceSet):
    """Whether the last sync or connection test could read every source the fabric has."""

    UNKNOWN = 'unknown'
    NOT_CONFIGURED = 'not_configured'
    CONNECTED = 'connected'
    FAILED = 'failed'

    CHOICES = [
        (UNKNOWN, _('Unknown'), 'gray'),
        (NOT_CONFIGURED, _('Not configured'), 'gray'),
        (CONNECTED, _('Connected'), 'green'),
        (FAILED, _('Failed'), 'red'),
    ]


class SyncTriggerChoices(ChoiceSet):
    """What started a sync run: its chain, an operator, or a chain (re)created by bootstrap or the watchdog."""

    SCHEDULE = 'schedule'
    MANUAL = 'manual'
    BOOTSTRAP = 'bootstrap'
    WATCHDOG = 'watchdog'

    CHOICES = [
        (SCHEDULE, _('Schedule'), 'blue'),
        (MANUAL, _('Manual'), 'purple'),
        (BOOTSTRAP, _('Bootstrap'), 'cyan'),
        (WATCHDOG, _('Watchdog'), 'orange'),
    ]


class SyncOutcomeChoices(ChoiceSet):
    """How a sync run ended."""

    RUNNING = 'running'
    SUCCESS = 'success'
    PARTIAL = 'partial'
    FAILED = 'failed'
    SKIPPED = 'skipped'

    CHOICES = [
        (RUNNING, _('Running'), 'blue'),
        (SUCCESS, _('Success'), 'green'),
        (PARTIAL, _('Partial'), 'orange'),
        (FAILED, _('Failed'), 'red'),
        (SKIPPED, _('Skipped'), 'gray'),
    ]


class ResourceSourceChoices(ChoiceSet):
    """Where a synced resource was read from."""

    KUBERNETES = 'kubernetes'
    GIT = 'git'

    CHOICES = [
        (KUBERNETES, _('Kubernetes'), 'blue'),
        (GIT, _('Git'), 'teal'),
    ]


class DriftStateChoices(ChoiceSet):
    """How an object in Git (desired) compares with the same object in the cluster (actual)."""

    IN_SYNC = 'in_sync'
    ONLY_IN_GIT = 'only_in_git'
    ONLY_IN_CLUSTER = 'only_in_cluster'
    DIFFERS = 'differs'

    CHOICES = [
        (IN_SYNC, _('In sync'), 'green'),
        (ONLY_IN_GIT, _('Only in Git'), 'orange'),
        (ONLY_IN_CLUSTER, _('Only in cluster'), 'orange'),
        (DIFFERS, _('Differs'), 'red'),
    ]


class DCIMSourceChoices(ChoiceSet):
    """Which source's stored resources drive a fabric's NetBox devices, interfaces and cables."""

    AUTO = 'auto'
    KUBERNETES = 'kubernetes'
    GIT = 'git'

    CHOICES = [
        (AUTO, _('Automatic (the cluster when configured, else Git)'), 'gray'),
        (KUBERNETES, _('Kubernetes'), 'blue'),
        (GIT, _('Git'), 'teal'),
    ]


class DCIMConflictPolicyChoices(ChoiceSet):
    """What the mapping does with a NetBox object of the same name that no fabric owns."""

    REPORT = 'report'
    ADOPT = 'adopt'

    CHOICES = [
        (REPORT, _('Report (leave it, record a problem)'), 'orange'),
        (ADOPT, _('Adopt (take ownership, manage only the mapped fields)'), 'blue'),
    ]
