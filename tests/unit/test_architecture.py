"""Static checks of where code lives: thin routes, no library internals, short functions.

Route modules translate HTTP to use cases; a use case in `handlers.py` publishes and writes.
Reaching a private attribute of FastStream, aiokafka or PyMongo breaks silently on an upgrade,
so it is allowed in one guarded, version-checked module only.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
PRODUCT = [REPO / "services", REPO / "shared"]
GUARDED_INTERNALS = {REPO / "shared" / "kafka_backoff.py"}
MONGO_WRITES = {"insert_one", "insert_many", "update_one", "update_many", "replace_one", "delete_one", "delete_many",
                "bulk_write", "find_one_and_update", "find_one_and_replace", "find_one_and_delete", "drop",
                "create_index", "create_indexes", "rename"}
KAFKA_WRITES = {"publish", "publish_batch", "send", "send_and_wait", "send_batch", "commit"}
LIBRARIES = ("pymongo", "aiokafka", "faststream", "motor")
MAX_LINES = 60
MAX_ROUTE_LINES = 80


def _python_files() -> Iterator[Path]:
    for root in PRODUCT:
        yield from sorted(root.rglob("*.py"))


def _route_modules() -> list[Path]:
    found = []
    for path in _python_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        if any(isinstance(n, ast.ImportFrom) and n.module == "fastapi" and
               any(a.name == "APIRouter" for a in n.names) for n in ast.walk(tree)):
            if path.parent.parent.name == "services" or path.parent.name == "http":
                found.append(path)
    return found


def _called_name(node: ast.Call) -> str | None:
    return node.func.attr if isinstance(node.func, ast.Attribute) else None


def _store_write_methods() -> set[str]:
    """Methods of the product's stores that write to MongoDB (directly or through another write)."""
    names: set[str] = set()
    for path in _python_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef):
                for item in node.body:
                    if isinstance(item, ast.AsyncFunctionDef | ast.FunctionDef) and any(
                            isinstance(c, ast.Call) and _called_name(c) in MONGO_WRITES for c in ast.walk(item)):
                        names.add(item.name)
    return names - {"__init__"}


@pytest.mark.parametrize("path", _route_modules(), ids=lambda p: str(p.relative_to(REPO)))
def test_a_route_module_neither_publishes_nor_writes_to_mongodb(path: Path) -> None:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    writes = MONGO_WRITES | KAFKA_WRITES | _store_write_methods()
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            modules = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
            for module in modules:
                if module.split(".")[0] in LIBRARIES or module in ("shared.publishing", "shared.mongo") \
                        or module.endswith(".store"):
                    problems.append(f"line {node.lineno}: imports {module}")
        if isinstance(node, ast.Call) and _called_name(node) in writes:
            problems.append(f"line {node.lineno}: calls .{_called_name(node)}()")
    assert not problems, f"{path.relative_to(REPO)} does the use case's work:\n" + "\n".join(problems)


def _private_reads(tree: ast.AST) -> Iterator[tuple[int, str]]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            if not (isinstance(node.value, ast.Name) and node.value.id in ("self", "cls")):
                yield node.lineno, node.attr
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and \
                node.func.id in ("getattr", "setattr", "hasattr", "delattr") and len(node.args) >= 2:
            name = node.args[1]
            if isinstance(name, ast.Constant) and isinstance(name.value, str) and \
                    name.value.startswith("_") and not name.value.startswith("__"):
                yield node.lineno, name.value


def test_no_product_code_reads_another_objects_private_attributes() -> None:
    problems = []
    for path in _python_files():
        if path in GUARDED_INTERNALS:
            continue
        for line, attr in _private_reads(ast.parse(path.read_text(encoding="utf-8"))):
            problems.append(f"{path.relative_to(REPO)}:{line} reads {attr}")
    assert not problems, "private attributes of other objects (libraries change them without notice):\n" + \
        "\n".join(problems)


def test_the_guarded_internals_module_checks_the_library_version() -> None:
    for path in GUARDED_INTERNALS:
        text = path.read_text(encoding="utf-8")
        assert "__version__" in text or "version(" in text, f"{path.relative_to(REPO)} must check the version"


def _functions(tree: ast.AST) -> Iterator[ast.FunctionDef | ast.AsyncFunctionDef]:
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            yield node


def test_no_function_is_longer_than_a_screen() -> None:
    routes = set(_route_modules())
    problems = []
    for path in _python_files():
        limit = MAX_ROUTE_LINES if path in routes else MAX_LINES
        for function in _functions(ast.parse(path.read_text(encoding="utf-8"))):
            length = (function.end_lineno or function.lineno) - function.lineno + 1
            if length > limit:
                problems.append(f"{path.relative_to(REPO)}:{function.lineno} {function.name} has {length} lines")
    assert not problems, f"functions over {MAX_LINES} lines ({MAX_ROUTE_LINES} in route modules):\n" + \
        "\n".join(problems)


def test_no_test_code_ships_in_the_product() -> None:
    assert not (REPO / "shared" / "testing").exists()
    copied = [line.split()[1] for line in (REPO / "Dockerfile").read_text(encoding="utf-8").splitlines()
              if line.startswith("COPY ")]
    assert copied and not any(path.split("/")[0] in ("tests", "bench", ".") for path in copied), copied
    for path in _python_files():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom):
                modules = [node.module or ""] if isinstance(node, ast.ImportFrom) else [a.name for a in node.names]
                assert not any(m.split(".")[0] in ("tests", "pytest") for m in modules), \
                    f"{path.relative_to(REPO)}:{node.lineno} imports test code"


def test_every_path_the_architecture_docs_name_exists() -> None:
    import re

    named: set[str] = set()
    for doc in (REPO / "docs" / "architecture.md", REPO / "README.md"):
        for path in re.findall(r"`((?:services|shared|tests|deploy|docs)/[^`<>*\s]+)`", doc.read_text(encoding="utf-8")):
            named.add(path.rstrip("/"))
    missing = sorted(p for p in named if not (REPO / p).exists())
    assert len(named) > 20 and not missing, f"named in the docs but not in the code: {missing}"
