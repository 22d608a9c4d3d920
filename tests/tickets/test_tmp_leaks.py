from __future__ import annotations

import pytest

from tests import test_leaks
from tests.conftest import Cast


@pytest.mark.parametrize("role", ["anonymous", "admin", "agent", "manager", "customer", "named"])
def test_mine(cast: Cast, role: str, monkeypatch: pytest.MonkeyPatch) -> None:
    real_routes = test_leaks.all_routes
    mine = ("tickets:", "sla:", "api-ticket", "api-sla")
    monkeypatch.setattr(
        test_leaks, "all_routes", lambda: [r for r in real_routes() if r.name.startswith(mine)]
    )
    from tests.portal import leak_targets as p
    from tests.tickets import leak_targets as t

    def targets(c: Cast) -> dict[str, object]:
        out = dict(t.make_b_objects(c))
        out.update(p.make_b_objects(c))
        try:
            from tests.sla import leak_targets as s

            out.update(s.make_b_objects(c))
        except ImportError:
            pass
        return out

    monkeypatch.setattr(test_leaks, "b_targets", targets)
    real_models = test_leaks.apps.get_models
    monkeypatch.setattr(
        test_leaks.apps,
        "get_models",
        lambda: [m for m in real_models() if m._meta.app_label != "knowledgebase"],
    )
    problems = test_leaks.find_leaks(cast, role)
    assert not problems, "\n".join(problems)
