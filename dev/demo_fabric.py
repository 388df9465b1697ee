"""Demo objects, created idempotently by dev/demo through ``netbox shell -c``:
the superuser admin/admin and the fabric ``demo`` reading the local GitOps repository.

Input from the environment: DEMO_GIT_URL, DEMO_GIT_BRANCH.
"""

import os

from users.models import User

from netbox_hedgehog.models import HedgehogFabric

if not User.objects.filter(username='admin').exists():
    User.objects.create_superuser('admin', 'admin@example.com', 'admin')
    print('demo: created superuser admin')

fabric = HedgehogFabric.objects.filter(name='demo').first() or HedgehogFabric(name='demo')
wanted = {
    'description': 'Demo fabric synced from the local GitOps repository .netbox/demo-gitops',
    'git_repository_url': os.environ['DEMO_GIT_URL'],
    'git_branch': os.environ['DEMO_GIT_BRANCH'],
    'sync_enabled': True,
    'scheduler_enabled': True,
    'sync_interval': 10,
}
if fabric.pk is None or any(getattr(fabric, k) != v for k, v in wanted.items()):
    for key, value in wanted.items():
        setattr(fabric, key, value)
    fabric.full_clean()
    fabric.save()
    print(f'demo: fabric "demo" saved (id {fabric.pk})')
else:
    print(f'demo: fabric "demo" unchanged (id {fabric.pk})')
