"""Every write to tickets (being split into one module per concern, #14 item 4)."""

from .changes import *  # noqa: F403 - the whole module, until it is split
from .changes import (  # noqa: F401 - the private helpers the sub-apps still import
    _acceptance_request,
    _locked,
    _require_agent,
    _resume_after_acceptance,
    _staff_event,
    _status_apply,
    _touch,
    _validate_choice,
)
