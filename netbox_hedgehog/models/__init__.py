from .fabric import HedgehogFabric
from .ownership import HedgehogOwnedObject
from .resource import HedgehogResource
from .sync_run import SyncRun

__all__ = ('HedgehogFabric', 'HedgehogOwnedObject', 'HedgehogResource', 'SyncRun')
