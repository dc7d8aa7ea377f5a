from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('clusters', '0007_object_notes_version'),
    ]

    operations = [
        migrations.AddField(
            model_name='cluster',
            name='compaction_mark',
            field=models.BigIntegerField(db_default=0, default=0),
        ),
    ]
