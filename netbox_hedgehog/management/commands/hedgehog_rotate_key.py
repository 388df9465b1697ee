"""``manage.py hedgehog_rotate_key``: re-encrypt every stored fabric credential with the current key.

Rotation: put the new key first in the plugin setting ``secret_keys`` and keep the old ones after
it (or, without that setting, move the old ``SECRET_KEY`` into ``SECRET_KEY_FALLBACKS``), restart
NetBox and its workers, run this command, then remove the old keys. A credential that no
configured key decrypts is reported by fabric and field, left as it is, and makes the command
exit non-zero; it must be entered again.
"""

from cryptography.fernet import InvalidToken
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from netbox_hedgehog.fields import Secret, vault
from netbox_hedgehog.models import HedgehogFabric
from netbox_hedgehog.models.fabric import SECRET_FIELDS


class Command(BaseCommand):
    help = 'Re-encrypt the stored fabric credentials with the first configured key (see the README, "Credentials").'

    def add_arguments(self, parser):
        parser.add_argument('--dry-run', action='store_true', help='Only check that each credential decrypts')

    def handle(self, *args, dry_run=False, **options):
        keys = vault()
        rotated, unreadable = 0, []
        with transaction.atomic():
            for fabric in HedgehogFabric.objects.select_for_update().only('pk', 'name', *SECRET_FIELDS):
                values = {}
                for name in SECRET_FIELDS:
                    ciphertext = getattr(fabric, name).ciphertext
                    if not ciphertext:
                        continue
                    try:
                        values[name] = Secret(ciphertext=keys.rotate(ciphertext.encode()).decode())
                    except InvalidToken:
                        unreadable.append(f'{fabric.name}: {name}')
                if values and not dry_run:
                    # update(): no change-log entry (nothing an operator set has changed) and no schedule signal.
                    HedgehogFabric.objects.filter(pk=fabric.pk).update(**values)
                rotated += len(values)
        verb = 'Would re-encrypt' if dry_run else 'Re-encrypted'
        self.stdout.write(f'{verb} {rotated} credential(s).')
        if unreadable:
            raise CommandError(
                'No configured key decrypts these credentials (left unchanged; enter them again): '
                + ', '.join(unreadable)
            )
