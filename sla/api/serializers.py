"""API shapes of the SLA configuration."""

from __future__ import annotations

from typing import Any

from rest_framework import serializers

from ..models import Calendar, Priority, SLAPolicy, SLATarget


class CalendarSerializer(serializers.ModelSerializer[Calendar]):
    class Meta:
        model = Calendar
        fields = ["id", "name", "config", "is_default"]


class CalendarWriteSerializer(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=100)
    config = serializers.JSONField()
    is_default = serializers.BooleanField(default=False)


class PrioritySerializer(serializers.ModelSerializer[Priority]):
    class Meta:
        model = Priority
        fields = ["id", "key", "name", "definition", "examples", "rank", "is_default"]


class TargetSerializer(serializers.ModelSerializer[SLATarget]):
    priority = serializers.CharField(source="priority.key", allow_null=True, default=None)
    calendar = serializers.CharField(source="calendar.name", allow_null=True, default=None)
    promise = serializers.CharField(source="describe")

    class Meta:
        model = SLATarget
        fields = ["metric", "priority", "amount", "unit", "calendar", "promise"]


class PolicySerializer(serializers.ModelSerializer[SLAPolicy]):
    calendar = serializers.CharField(source="calendar.name")
    targets = TargetSerializer(many=True)

    class Meta:
        model = SLAPolicy
        fields = ["id", "name", "description", "calendar", "targets"]
