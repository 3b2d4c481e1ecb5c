"""What this machine runs (Python, numpy, torch, CUDA, GPU) and how it compares with the course's pins.

Two users:

- ``autograder check`` warns a student whose numpy or torch is not the grader's: code written
  for numpy 1 (``np.reshape(a, newshape=...)``, ``int()`` of a one-element array) passes the
  public tests at home and fails when graded under numpy 2.
- the grader prints :func:`describe` of its own machine when the reference fails (the canary),
  so that a broken grading machine is told apart from a broken exercise.

The pins live in the assignment's ``assignment.toml`` as PEP 440 specifiers::

    [environment]
    python = ">=3.11"
    numpy = ">=2.0,<3"
    torch = ">=2.1,<3"
"""
from __future__ import annotations

import platform

from packaging.specifiers import SpecifierSet
from packaging.version import InvalidVersion, Version

from .config import PINNABLE  # the packages a pin may name, in the order they are reported

NAMES = {"python": "Python", "numpy": "numpy", "torch": "torch"}  # as a sentence spells them


def versions() -> dict[str, str]:
    """This process's Python, numpy, torch, CUDA (of torch's build) and GPU.

    Keys: ``python``, ``numpy``, ``torch`` (left out when it cannot be imported), ``cuda``
    (``torch.version.cuda``, or ``"none"`` for a CPU build or without torch) and ``gpu`` (models,
    driver and CUDA, or ``"none"``).

    CUDA is never started: the grader forks its workers after calling this, and a forked
    child cannot use a CUDA context its parent started.
    """
    found = {"python": platform.python_version()}
    try:
        import numpy
        found["numpy"] = numpy.__version__
    except ImportError:
        pass
    cuda = None
    try:
        import torch
        found["torch"] = str(torch.__version__)  # a TorchVersion, a str subclass
        cuda = torch.version.cuda  # a constant of the build; touching it starts nothing
    except Exception:  # noqa: BLE001 - a broken install raises OSError too; describing must not fail
        pass
    found["cuda"] = cuda or "none"
    # Read from /proc/driver/nvidia, never through torch.cuda. It runs after torch's import
    # above because it reads torch's CUDA build from sys.modules (and caches what it read).
    from .sandbox import gpu_description
    found["gpu"] = gpu_description() or "none"
    return found


def describe(found: dict[str, str]) -> str:
    """One line, e.g. ``Python 3.12.3, numpy 2.3.1, torch 2.13.0+cpu, CUDA none, GPU: none on this machine``."""
    parts = [f"{NAMES[key]} {found[key]}" if key in found else f"{NAMES[key]} not importable" for key in PINNABLE]
    gpu = found.get("gpu", "none")
    if gpu == "none":
        parts += [f"CUDA {found.get('cuda', 'none')}", "GPU: none on this machine"]
    else:  # the GPU's description names torch's CUDA already
        parts.append(f"GPU: {gpu}")
    return ", ".join(parts)


def mismatches(found: dict[str, str], pins: dict[str, str]) -> list[str]:
    """One sentence for each pinned package whose version here is outside its pin (or that is missing).

    ``found`` is :func:`versions`'s dict, ``pins`` an assignment's ``[environment]`` table.
    Empty when everything matches, or when nothing is pinned.
    """
    return [sentence for key in PINNABLE if key in pins
            for sentence in [_mismatch(key, found.get(key), pins[key])] if sentence]


def _mismatch(key: str, have: str | None, pin: str) -> str | None:
    name, wanted = NAMES[key], f"{NAMES[key]} {pin}"
    if have is None:
        return (f"{name} cannot be imported here; the grader runs {wanted}, and the tests of code that uses it "
                f"cannot run without it. {_fix(key, pin)}")
    try:
        version = Version(have)
    except InvalidVersion:
        return f"your {name} reports the version {have!r}, which cannot be compared with the grader's {wanted}. {_fix(key, pin)}"
    # prereleases=True: a nightly torch (2.6.0.dev...) inside the range is inside the range.
    # A local part such as +cpu or +cu121 is ignored by the comparison, as PEP 440 says.
    if SpecifierSet(pin).contains(version, prereleases=True):
        return None
    if key == "numpy" and version.major < 2:
        return (f"your numpy is {have}; the grader runs {wanted}. Code that works here can fail when graded: "
                "np.reshape(a, newshape=...) warns or fails (give the shape by position: np.reshape(a, (N, -1))), "
                "int()/float() of an array with one element that is not 0-d warns or fails (use a.item()), "
                "np.float_, np.product, np.NaN and other removed aliases raise AttributeError, "
                "and np.float32(x) * 2.0 is float32 under numpy 2 (float64 under numpy 1). " + _fix(key, pin))
    if key == "torch":
        return (f"your torch is {have}; the grader runs {wanted}. Defaults, warnings and whole functions change "
                f"between torch versions, so code that works here can fail when graded. {_fix(key, pin)}")
    return f"your {name} is {have}; the grader runs {wanted}. Code that works here can fail when graded. {_fix(key, pin)}"


def _fix(key: str, pin: str) -> str:
    """What to do about a mismatch, as the last sentence."""
    if key == "python":
        return f"Install a Python {pin}, make your virtual environment with it, and run check again."
    if key == "torch":
        return (f"Install a matching torch (pip install 'torch{pin}', the build for your hardware) "
                "and run check again.")
    return f"Install a matching {key} (pip install '{key}{pin}') and run check again."
