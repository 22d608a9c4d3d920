"""Notifications: the outbox of ticket event deliveries and the relay that works it off."""
