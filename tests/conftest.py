"""Fixtures for the whole suite come from tests.support.plugin."""

pytest_plugins = ["tests.support.plugin"]


def pytest_collection_modifyitems(items: list) -> None:  # type: ignore[type-arg]
    """Heavy tests leave a backlog for every consumer, so they run after the rest."""
    items.sort(key=lambda item: item.get_closest_marker("heavy") is not None)
