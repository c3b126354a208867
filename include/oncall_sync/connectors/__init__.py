"""Connectors: one package per on-call source."""
