from .fabric import HedgehogFabric
from .resource import HedgehogResource
from .sync_run import SyncRun

__all__ = ('HedgehogFabric', 'HedgehogResource', 'SyncRun')
