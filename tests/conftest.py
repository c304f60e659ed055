"""Fixtures for the whole suite come from tests.support.plugin."""

pytest_plugins = ["tests.support.plugin"]

OWN_NAMESPACE_AND_LONG = ("tests/faults/", "tests/security/test_openapi_fuzz.py")
"""Modules that take minutes on topics and a database of their own. This order holds in a run without workers; under
`make test` (pytest -n, --dist loadfile) xdist starts the modules holding the most tests first whatever this order is,
which leaves these one- and two-test modules near the end (docs/benchmarks.md "The order modules start in")."""


def _order(item) -> int:  # type: ignore[no-untyped-def]
    if item.nodeid.startswith(OWN_NAMESPACE_AND_LONG):
        return 0
    # Heavy tests on the session's topics leave a backlog for every consumer started after them.
    return 2 if item.get_closest_marker("heavy") is not None else 1


def pytest_collection_modifyitems(items: list) -> None:  # type: ignore[type-arg]
    """Long modules in a namespace of their own first, heavy tests on the session's topics last."""
    items.sort(key=_order)
