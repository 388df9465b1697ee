"""Encrypt the fabrics' stored credentials (see netbox_hedgehog.fields); reversing decrypts them."""

from django.db import migrations

import netbox_hedgehog.fields

SECRET_FIELDS = ('kubernetes_token', 'kubeconfig', 'git_token', 'git_ssh_key')


def _convert(apps, convert):
    # Runs before the AlterFields below: the historical model still reads and writes raw text.
    fabric_model = apps.get_model('netbox_hedgehog', 'HedgehogFabric')
    for fabric in fabric_model.objects.only('pk', *SECRET_FIELDS):
        values = {name: convert(getattr(fabric, name)) for name in SECRET_FIELDS if getattr(fabric, name)}
        if values:
            fabric_model.objects.filter(pk=fabric.pk).update(**values)


def encrypt(apps, schema_editor):
    vault = netbox_hedgehog.fields.vault()
    _convert(apps, lambda text: vault.encrypt(text.encode()).decode())


def decrypt(apps, schema_editor):
    vault = netbox_hedgehog.fields.vault()
    _convert(apps, lambda token: vault.decrypt(token.encode()).decode())


class Migration(migrations.Migration):
    dependencies = [
        ('netbox_hedgehog', '0002_fabric_transport_options'),
    ]

    operations = [
        migrations.RunPython(encrypt, decrypt),
        migrations.AlterField(
            model_name='hedgehogfabric',
            name='git_ssh_key',
            field=netbox_hedgehog.fields.EncryptedTextField(blank=True),
        ),
        migrations.AlterField(
            model_name='hedgehogfabric',
            name='git_token',
            field=netbox_hedgehog.fields.EncryptedTextField(blank=True),
        ),
        migrations.AlterField(
            model_name='hedgehogfabric',
            name='kubeconfig',
            field=netbox_hedgehog.fields.EncryptedTextField(blank=True),
        ),
        migrations.AlterField(
            model_name='hedgehogfabric',
            name='kubernetes_token',
            field=netbox_hedgehog.fields.EncryptedTextField(blank=True),
        ),
    ]
