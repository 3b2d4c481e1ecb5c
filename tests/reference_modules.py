"""The reference modules of an assignment, imported from solutions/ for the oracle tests."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

SOLUTIONS = Path(__file__).resolve().parents[1] / "solutions"


def load_reference(assignment: str, *names: str) -> tuple[ModuleType, ...]:
    """Import solutions/<assignment>/<name>.py for each name, under private module names."""
    modules = []
    for name in names:
        spec = importlib.util.spec_from_file_location(f"_{assignment}_reference_{name}",
                                                      SOLUTIONS / assignment / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        modules.append(module)
    return tuple(modules)
