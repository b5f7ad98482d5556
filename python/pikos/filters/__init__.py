"""Filters: callables that choose which records a recorder keeps."""
