from __future__ import annotations

from django.apps import AppConfig


class KnowledgebaseConfig(AppConfig):
    name = "knowledgebase"
