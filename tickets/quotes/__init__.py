"""Quotes for out-of-scope work (issue #15 item 7, Stratsys' "< 2 h without a quote").

An agent proposes a quote (hours and/or a price, and what it covers); the customer accepts or
declines it in the portal or the portal API. Billable time beyond the plan's quote-free hours
on an out-of-scope ticket is refused until a quote is accepted (:mod:`.rules`, enforced in
:func:`tickets.services.time_entry_log`); the account manager hears once when billable work
starts and once when the quote-free hours are reached. docs/tickets.md describes it.
"""
