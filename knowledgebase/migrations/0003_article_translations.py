"""Translation groups: an article may be a translation of a source article, and a group
holds one article per language (the source's group is its own id)."""

import django.db.models.deletion
import django.db.models.functions.comparison
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('knowledgebase', '0002_article_search_vector'),
    ]

    operations = [
        migrations.AddField(
            model_name='article',
            name='translation_of',
            field=models.ForeignKey(blank=True, help_text='The source article; its translations share its visibility and plans.', null=True, on_delete=django.db.models.deletion.CASCADE, related_name='translations', to='knowledgebase.article', verbose_name='translation of'),
        ),
        migrations.AddConstraint(
            model_name='article',
            constraint=models.UniqueConstraint(models.F('tenant'), django.db.models.functions.comparison.Coalesce('translation_of', 'id'), models.F('language'), name='article_one_per_language', violation_error_message='This article already has a translation in that language.'),
        ),
    ]
