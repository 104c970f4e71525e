"""The microdroplet planner: lattice layout on the metric face, doses from the library."""

from __future__ import annotations

from dosemap.domain.planning.planner import build_plan

__all__ = ["build_plan"]
