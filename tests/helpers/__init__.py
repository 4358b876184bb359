"""Builders and helpers shared by many tests (import as ``from helpers.models import ...``)."""
