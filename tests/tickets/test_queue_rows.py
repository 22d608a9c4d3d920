"""The queue's rows template: one cell per shown column, in the headers' order, escaped."""

from __future__ import annotations

import re

import pytest
from django.template.loader import render_to_string

from tickets.queue import COLUMNS, DEFAULT_COLUMNS, QueueRow, columns_with_ticket
from tickets.queue.rows import queue_rows_context

MARKERS = {
    "due": "LEFT-WORDS",
    "ticket": "SUBJECT",
    "requester": "REQUESTER",
    "priority": "PRIORITY-KEY",
    "status": "STATUS",
    "line": "LINE",
    "assignee": "ASSIGNEE",
    "received": "RECEIVED",
    "updated": "UPDATED",
}


def _row() -> QueueRow:
    return QueueRow(
        pk=7,
        url="/agent/tickets/7/",
        reference="T-7",
        subject="SUBJECT <b>",
        category="CATEGORY",
        requester="REQUESTER",
        organisation="ORGANISATION",
        priority_key="PRIORITY-KEY",
        priority_definition='DEFINITION "x"',
        status="STATUS",
        line="LINE",
        assignee="ASSIGNEE",
        due="DUE",
        css="urgency-soon",
        left=60.0,
        left_words="LEFT-WORDS",
        received="RECEIVED",
        updated="UPDATED",
    )


@pytest.mark.parametrize(
    "columns", [list(COLUMNS), list(DEFAULT_COLUMNS), ["due", "updated"], ["received"]]
)
def test_each_row_has_one_cell_per_column_in_the_headers_order(columns: list[str]) -> None:
    context = queue_rows_context([_row()], selectable=False, columns=columns)
    html = render_to_string("tickets/_queue_rows.html", {**context, "refresh_url": "/"})
    cells = re.findall(r"<td>(.*?)</td>", html)
    shown = columns_with_ticket(columns)
    assert len(cells) == len(shown)
    assert [MARKERS[c] in cell for c, cell in zip(shown, cells, strict=True)] == [True] * len(shown)
    assert "SUBJECT &lt;b&gt;" in html
    assert ('title="DEFINITION &quot;x&quot;"' in html) == ("priority" in shown)


def test_a_ticked_row_keeps_its_tick_and_a_manager_gets_no_checkboxes() -> None:
    ticked = queue_rows_context([_row()], selectable=True, checked=frozenset({7}))
    html = render_to_string("tickets/_queue_rows.html", {**ticked, "refresh_url": "/"})
    assert '<input type="checkbox" name="tickets" value="7" aria-label="T-7" checked>' in html
    manager = queue_rows_context([_row()], selectable=False, checked=frozenset({7}))
    assert "checkbox" not in render_to_string(
        "tickets/_queue_rows.html", {**manager, "refresh_url": "/"}
    )
