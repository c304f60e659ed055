"""Fixtures for the whole suite come from tests.support.plugin; this file orders the modules for pytest -n."""

pytest_plugins = ["tests.support.plugin"]

# Under `pytest -n` (the Makefile passes --no-loadscope-reorder, so this order holds) each worker takes
# the next whole module when it runs short. The longest modules start first, so no long one is left to
# run alone at the end; the fast unit modules come last and fill the workers' ends. Durations are those
# of clean-clone runs of `make test` (docs/benchmarks.md "`make test` in under ten minutes").
LONG_OWN_NAMESPACE = (  # topics, database or a whole stack of their own: they disturb no other module
    "tests/faults/test_consumer_kills.py",  # 275 s
    "tests/security/test_openapi_fuzz.py",  # 285 s over its five services
    "tests/faults/test_redelivery.py",  # 150 to 167 s
    "tests/integration/test_make_demo.py",  # 72 to 169 s, its own `make demo` stack
    "tests/faults/test_infrastructure_restarts.py",
    "tests/integration/test_make_run.py",  # 57 to 64 s, its own `make run` stack
    "tests/faults/",
)
LONG_ON_SESSION_TOPICS = (
    "tests/integration/test_bench_smoke.py",  # 124 to 154 s
    "tests/integration/test_web_station.py",  # 84 to 105 s
    "tests/integration/test_web_app.py",
    "tests/integration/test_web_field.py",
    "tests/integration/test_replicas.py",
    "tests/security/test_authorization_matrix.py",
    "tests/security/test_audit_trail.py",
)


def _rank(nodeid: str, prefixes: tuple[str, ...]) -> int | None:
    return next((n for n, prefix in enumerate(prefixes) if nodeid.startswith(prefix)), None)


def _order(item) -> tuple[int, int]:  # type: ignore[no-untyped-def]
    nodeid = item.nodeid
    if (rank := _rank(nodeid, LONG_OWN_NAMESPACE)) is not None:
        return 0, rank
    if nodeid.startswith("tests/unit/"):
        return 4, 0
    # Heavy tests on the session's topics leave a backlog for every consumer started after them.
    if item.get_closest_marker("heavy") is not None:
        return 3, 0
    if (rank := _rank(nodeid, LONG_ON_SESSION_TOPICS)) is not None:
        return 1, rank
    return 2, 0


def pytest_collection_modifyitems(items: list) -> None:  # type: ignore[type-arg]
    """Longest modules first, heavy tests on the session's topics after the rest, unit tests last."""
    items.sort(key=_order)
