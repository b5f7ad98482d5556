"""Recorders: they store or stream the records monitors emit."""
