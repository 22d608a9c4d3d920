"""Post-incident reviews (issue #15 item 2, ITSL: "a PIR for every closed high/critical ticket").

When a ticket of a priority the tenant picked (:class:`tickets.models.ReviewPolicy`) is
closed, the event handler :func:`.services.review_open_on_close` opens its review, assigned to
the ticket's assignee and due within the tenant's working days on the ticket's SLA calendar.
The assignee is warned once on the review's last working day (:func:`.services.reviews_warn`,
swept by ``tickets.reviews_warn_all``); the customer reads the review on their ticket once
an agent shares it; the monthly report counts the month's reviews done and overdue.
"""
