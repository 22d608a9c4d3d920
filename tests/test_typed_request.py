"""Views read the tenant from a typed request, not from an untyped copy of it (#14).

``req: Any = request`` switched type checking off for everything read from the request
(``req.tenant``, ``req.user``) so a typo or a wrong type passed to a service went unseen.
The middleware's attributes are declared on ``supportdesk.http.TenantRequest`` and its
narrower variants (``StaffRequest``; ``contracts.http.PortalRequest``, ``MemberRequest``);
a view annotates its ``request`` with one of them. The files come from the apps' directories,
not from a list: a new module is checked the day it is added.
"""

from __future__ import annotations

import ast
from pathlib import Path

from tests.test_function_imports import ROOT, _sources

# What a copy is made of: the request itself, or the Django request behind DRF's.
_REQUESTS = ("request", "request._request", "self.request", "self.request._request")


def untyped_request_copies(path: Path, root: Path = ROOT) -> list[str]:
    """``path:line: statement`` for each ``name: Any = <the request>``."""
    source = path.read_text(encoding="utf-8")
    return [
        f"{path.relative_to(root)}:{node.lineno}: {ast.unparse(node)}"
        for node in ast.walk(ast.parse(source, filename=str(path)))
        if isinstance(node, ast.AnnAssign)
        and node.value is not None
        and ast.unparse(node.annotation) in ("Any", "typing.Any")
        and ast.unparse(node.value) in _REQUESTS
    ]


def test_the_check_flags_a_copy_and_accepts_a_typed_request(tmp_path: Path) -> None:
    module = tmp_path / "module.py"
    module.write_text(
        "from typing import Any\n"
        "\n"
        "def plain(request):\n"
        "    req: Any = request\n"
        "\n"
        "def drf(request):\n"
        "    req: Any = request._request\n"
        "\n"
        "class View:\n"
        "    def get(self):\n"
        "        req: Any = self.request._request\n"
        "\n"
        "def typed(request: TenantRequest):\n"
        "    tenant = request.tenant\n"
        "    data: Any = request.data\n",
        encoding="utf-8",
    )
    flagged = [line.split(": ", 1)[1] for line in untyped_request_copies(module, tmp_path)]
    assert flagged == [
        "req: Any = request",
        "req: Any = request._request",
        "req: Any = self.request._request",
    ]


def test_no_untyped_copy_of_the_request() -> None:
    offenders = [line for path in _sources() for line in untyped_request_copies(path)]
    assert not offenders, (
        f"{len(offenders)} untyped cop(ies) of the request; annotate the view's request with "
        "supportdesk.http.TenantRequest (or StaffRequest, contracts.http.PortalRequest, "
        "MemberRequest) and read its attributes directly:\n" + "\n".join(offenders)
    )
