"""Stage 3: IR -> diagnostics (placeholder until the rules land)."""

from __future__ import annotations

from .diagnostics import Diagnostic
from .ir import Project


def validate(project: Project) -> list[Diagnostic]:
    return []
