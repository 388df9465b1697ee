from django.db import migrations, models


class Migration(migrations.Migration):
    """A row's ``last_seen`` comes from its fabric's read time of the source while the source lists it.

    ``last_listed`` keeps the times written so far; the next run of each source clears it on the rows
    that source lists again.
    """

    dependencies = [('netbox_hedgehog', '0005_resource_last_seen')]

    operations = [
        migrations.RenameField(model_name='hedgehogresource', old_name='last_seen', new_name='last_listed'),
        migrations.AlterField(
            model_name='hedgehogresource',
            name='last_listed',
            field=models.DateTimeField(
                blank=True,
                help_text='When its source last listed the object, once the source no longer does; empty while it does',
                null=True,
                verbose_name='last listed',
            ),
        ),
        migrations.AddField(
            model_name='hedgehogfabric',
            name='kubernetes_read_at',
            field=models.DateTimeField(blank=True, editable=False, null=True, verbose_name='Kubernetes read at'),
        ),
        migrations.AddField(
            model_name='hedgehogfabric',
            name='git_read_at',
            field=models.DateTimeField(blank=True, editable=False, null=True, verbose_name='Git read at'),
        ),
        migrations.AddField(
            model_name='hedgehogfabric',
            name='git_files',
            field=models.JSONField(blank=True, default=dict, editable=False, verbose_name='Git files read'),
        ),
        migrations.AddField(
            model_name='hedgehogfabric',
            name='last_full_comparison',
            field=models.DateTimeField(
                blank=True,
                editable=False,
                help_text='When a sync last compared every object in full (plugin setting full_comparison_interval)',
                null=True,
                verbose_name='last full comparison',
            ),
        ),
    ]
