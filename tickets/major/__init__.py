"""Major incidents (issue #15 item 4, ITSL's P1 "escalated immediately, customer kept informed").

An agent declares an active ticket of the tenant's most urgent priority (rank 1 of its own
scheme, so which key that is stays the tenant's configuration) a major incident. The tickets
linked to it as "caused by" it are its children, whichever organisation filed them; one
status update from the major incident's page is posted as a public reply on it and on every
child at once, so each requester reads it on their own ticket and nothing of the others'.
docs/tickets.md describes it.
"""
