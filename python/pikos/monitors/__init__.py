"""Monitors: they watch code run and emit records."""
