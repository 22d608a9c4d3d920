"""No page path is spelled by hand in the apps' code: links are built with ``reverse()`` (or
``{% url %}`` in templates), so a moved URL cannot leave a mail, a notice or a webhook with a
dead link. Generated from the resolver: every route's first segment (``agent/``,
``portal/``, ``manage/``…) is looked for in the string literals of every module, docstrings
and the URL modules aside."""

from __future__ import annotations

import ast
from pathlib import Path

from django.urls import URLPattern, URLResolver, get_resolver

ROOT = Path(__file__).resolve().parent.parent
APPS = ("supportdesk", "contracts", "sla", "tickets", "notifications", "knowledgebase", "reports")


def _first_segments() -> set[str]:
    segments: set[str] = set()
    for entry in get_resolver().url_patterns:
        if isinstance(entry, URLResolver):
            patterns = [p for p in entry.url_patterns if isinstance(p, URLPattern | URLResolver)]
            prefix = str(entry.pattern)
            routes = [prefix + str(p.pattern) for p in patterns] if not prefix else [prefix]
        else:
            routes = [str(entry.pattern)]
        for route in routes:
            head = route.lstrip("^").split("/", 1)[0]
            if head and "<" not in head and "(" not in head and "/" in route:
                segments.add(f"/{head}/")
    return segments


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def _path_tests(tree: ast.AST) -> set[int]:
    """Constants a request's path is compared with (``path.startswith("/api/")``): they
    recognise an incoming URL, they build no link."""
    ids = set()
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("startswith", "removeprefix")
        ):
            for arg in ast.walk(ast.Tuple(elts=list(node.args))):
                if isinstance(arg, ast.Constant):
                    ids.add(id(arg))
    return ids


def _literal_paths(segments: set[str]) -> list[str]:
    found = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts or path.name.startswith("urls"):
                continue
            tree = ast.parse(path.read_text())
            skip = _docstrings(tree) | _path_tests(tree)
            for node in ast.walk(tree):
                if not isinstance(node, ast.Constant) or not isinstance(node.value, str):
                    continue
                if id(node) in skip:
                    continue
                # f"{base}/agent/tickets/{pk}/" holds the constant "/agent/tickets/"
                if any(node.value.startswith(s) for s in segments):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}")
    return found


def test_the_resolver_gives_the_segments_to_look_for() -> None:
    segments = _first_segments()
    assert {"/agent/", "/portal/", "/manage/"} <= segments, segments


def test_no_module_spells_a_page_path_by_hand() -> None:
    found = _literal_paths(_first_segments())
    assert not found, "build these links with reverse():\n" + "\n".join(found)
