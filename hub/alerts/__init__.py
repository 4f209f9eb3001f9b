"""Alerts: rules evaluated on the event bus that turn readings into alerts (DESIGN §6).

Kept import-free so ``hub.config`` can import ``hub.alerts.config`` without pulling in the
engine (which imports the hub runtime).
"""
