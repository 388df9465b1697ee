import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [('netbox_hedgehog', '0004_syncrun_changes')]

    operations = [
        migrations.AddField(
            model_name='hedgehogresource',
            name='last_seen',
            field=models.DateTimeField(
                blank=True,
                default=django.utils.timezone.now,
                help_text='When the last sync read this object from its source',
                null=True,
                verbose_name='last seen',
            ),
        ),
    ]
