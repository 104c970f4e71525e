"""Safety checks: rules that return findings with stable codes; none raises for a warning.

>>> from dosemap.domain.safety import evaluate, Finding, CATALOGUE  # doctest: +SKIP

``evaluate(plan, library, intake=..., context=..., mesh=...)`` is the one entry point;
:data:`CATALOGUE` lists every finding code (``docs/findings.md`` documents them).
"""

from dosemap.domain.safety.evaluate import RULES, evaluate
from dosemap.domain.safety.finding import CATALOGUE, SEVERITY_RANK, Code, Finding

__all__ = ["CATALOGUE", "RULES", "SEVERITY_RANK", "Code", "Finding", "evaluate"]
