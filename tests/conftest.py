"""Fixtures for the whole suite come from tests.support.plugin."""

import pytest

pytest_plugins = ["tests.support.plugin"]

ONE_AFTER_ANOTHER = {
    "print-stations": ("tests/integration/test_print_policy.py", "tests/integration/test_printing_flow.py",
                       "tests/integration/test_web_station.py", "tests/integration/test_blangko_contention.py"),
}
"""Modules that run in one worker, in this order, under pytest -n: their print stations share the session's print
topic and jobs, and a module's fallback station takes over the cards an earlier module left waiting at its own."""


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list) -> None:  # type: ignore[type-arg]
    """Heavy tests leave a backlog for every consumer, so they run after the rest. Under pytest -n
    (--dist loadgroup) a module runs whole in one worker, and the modules of ONE_AFTER_ANOTHER together."""
    items.sort(key=lambda item: item.get_closest_marker("heavy") is not None)
    for item in items:
        module = item.nodeid.split("::", 1)[0]
        group = next((name for name, modules in ONE_AFTER_ANOTHER.items() if module in modules), module)
        item.add_marker(pytest.mark.xdist_group(group))
