"""Helpers the original pikos documented under ``pikos._internal`` (see
docs/compatibility.md), kept importable for code written against it."""
