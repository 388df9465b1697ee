"""When fabrics sync: the rq-scheduler chain per fabric, the sync job, locks and health.

Syncing itself lives in :mod:`netbox_hedgehog.sync`; nothing here knows how a fabric is read.
"""
