"""The queue's filter parameters: read leniently, as they always were, by the FilterSet."""

from __future__ import annotations

import pytest
from django.http import QueryDict

from tickets.queue import QueueFilters


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("", QueueFilters()),
        ("status=&view=&line=", QueueFilters()),
        ("status=nope&view=MINE&line=4&category=nope", QueueFilters()),
        (
            "status=all&view=mine&line=mine&category=incident",
            QueueFilters(status="all", view="mine", line="mine", category="incident"),
        ),
        (
            "due_within=61&priority=00012&organisation=3",
            QueueFilters(due_within=61, priority=12, organisation=3),
        ),
        ("due_within=0", QueueFilters(due_within=0)),
        # Django's IntegerField would take these; the queue never did.
        ("due_within=5.0&priority=-1&organisation=%D9%A3", QueueFilters()),
        ("due_within=999999999999", QueueFilters()),
        ("breached=ON", QueueFilters(breached=True)),
        ("breached=yes", QueueFilters(breached=True)),
        ("breached=no", QueueFilters()),
        ("q=++T-12++", QueueFilters(q="T-12")),
        ("q=" + "x" * 150, QueueFilters(q="x" * 100)),
        ("view=all&view=unassigned", QueueFilters(view="unassigned")),  # the last one counts
    ],
)
def test_the_queue_reads_its_parameters_leniently(query: str, expected: QueueFilters) -> None:
    assert QueueFilters.from_params(QueryDict(query)) == expected
    assert QueueFilters.from_params(QueryDict(query).dict()) == expected  # a saved view's
