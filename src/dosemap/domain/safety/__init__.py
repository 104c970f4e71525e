"""Safety checks: rules that return findings with stable codes; none raises for a warning.

``evaluate(plan, library, intake=..., context=..., mesh=...)`` is the one entry point;
:data:`CATALOGUE` lists every finding code (``docs/findings.md`` documents them). The intake and
session-context models live in :mod:`dosemap.domain.intake` and are re-exported here.
"""

from dosemap.domain.intake import Intake, PriorTreatment, SessionContext, VialInUse
from dosemap.domain.safety.evaluate import RULES, evaluate
from dosemap.domain.safety.finding import CATALOGUE, SEVERITY_RANK, Code, Finding

__all__ = [
    "CATALOGUE",
    "RULES",
    "SEVERITY_RANK",
    "Code",
    "Finding",
    "Intake",
    "PriorTreatment",
    "SessionContext",
    "VialInUse",
    "evaluate",
]
