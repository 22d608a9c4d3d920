"""No import inside a function body unless a comment says why (#14).

An import in a function body usually hides a layer that points the wrong way (a lower app
reaching into a higher one) or a cycle nobody untangled. The files come from the apps'
directories, not from a list: a new module is checked the day it is added. An import may stay
in a body when a comment on its own line or the line directly above says why (``ready()``
registering handlers, a cycle still to be inverted, a heavy import for a rare path).
"""

from __future__ import annotations

import ast
import io
import tokenize
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APPS = ("supportdesk", "contracts", "sla", "tickets", "notifications", "knowledgebase", "reports")

# Comments that silence a tool say nothing about why the import is local.
_PRAGMAS = ("noqa", "type:", "pragma", "fmt:")


def _sources() -> list[Path]:
    return sorted(
        path
        for app in APPS
        for path in (ROOT / app).rglob("*.py")
        if "migrations" not in path.relative_to(ROOT).parts
    )


def _reasons(source: str) -> dict[int, str]:
    """Line number -> the comment on that line, for comments that give a reason."""
    comments: dict[int, str] = {}
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type != tokenize.COMMENT:
            continue
        text = token.string.lstrip("#").strip()
        if text and not text.startswith(_PRAGMAS):
            comments[token.start[0]] = text
    return comments


def _body_imports(tree: ast.Module) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement inside a function or method body, each once."""
    found: dict[int, ast.Import | ast.ImportFrom] = {}
    for function in ast.walk(tree):
        if isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            for node in ast.walk(function):
                if isinstance(node, ast.Import | ast.ImportFrom):
                    found[id(node)] = node
    return sorted(found.values(), key=lambda node: node.lineno)


def unexplained_body_imports(path: Path, root: Path = ROOT) -> list[str]:
    """``path:line: statement`` for each body import with no reason given beside it."""
    source = path.read_text(encoding="utf-8")
    lines = source.splitlines()
    reasons = _reasons(source)
    return [
        f"{path.relative_to(root)}:{node.lineno}: {lines[node.lineno - 1].strip()}"
        for node in _body_imports(ast.parse(source, filename=str(path)))
        if node.lineno not in reasons and node.lineno - 1 not in reasons
    ]


def test_the_check_sees_every_app() -> None:
    sources = _sources()
    for app in APPS:
        assert any(path.relative_to(ROOT).parts[0] == app for path in sources), app


def test_the_check_flags_a_bare_body_import_and_accepts_an_explained_one(tmp_path: Path) -> None:
    module = tmp_path / "module.py"
    module.write_text(
        "import os\n"
        "\n"
        "def bare():\n"
        "    import json\n"
        "\n"
        "def silenced():\n"
        "    import csv  # noqa: PLC0415\n"
        "\n"
        "def explained():\n"
        "    # registering the handlers is why this app is loaded\n"
        "    from . import handlers\n"
        "    import re  # the same line says why\n"
        "\n"
        "class Thing:\n"
        "    def method(self):\n"
        "        def inner():\n"
        "            from x import (\n"
        "                y,\n"
        "            )\n",
        encoding="utf-8",
    )
    flagged = [line.split(": ", 1)[1] for line in unexplained_body_imports(module, tmp_path)]
    assert flagged == ["import json", "import csv  # noqa: PLC0415", "from x import ("]


def test_no_import_inside_a_function_body_without_a_comment_saying_why() -> None:
    offenders = [line for path in _sources() for line in unexplained_body_imports(path)]
    assert not offenders, (
        f"{len(offenders)} import(s) inside a function body with no comment saying why; move "
        "each to the module top, or say why it must stay (on its line or the line above):\n"
        + "\n".join(offenders)
    )
