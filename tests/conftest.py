"""Fixtures for the whole suite come from shared.testing.plugin."""

pytest_plugins = ["shared.testing.plugin"]
