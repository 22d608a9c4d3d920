"""Macros (saved replies): text with variables and optional actions, shared by the tenant
or an agent's own, applied from the reply box on the ticket page."""
