"""The engine is not coupled to any exercise: adding one never touches ``autograder/``.

Everything of an exercise lives in ``solutions/<name>/``, its worker-side
helpers included (``worker_helpers.py``, see autograder.helpers). This test
fails where ``autograder/`` names an assignment of ``solutions/`` as code, not
as prose. The rule, case-insensitive, for every assignment name:

1. no file or folder under ``autograder/`` is named after it (``probes/<name>.py``);
2. no import statement has it as a component (``from autograder.probes import <name>``);
3. no string in the code (docstrings aside) that is a module or file path has it
   as a component (``"autograder.probes.<name>"``, ``"solutions/<name>/x.py"``);
4. no text, comments and docstrings included, names a module of the engine
   after it (``autograder.probes.<name>``, ``probes.<name>``).

Plain words are allowed: the shipped exercises are named after what they teach
(``dropout``, ``softmax``), and a comment or an example in a docstring may
well use the word (``torch.softmax``, "e.g. backprop.py"); what couples the
engine to an exercise is a file, an import or a path.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

from autograder.config import list_assignments

ROOT = Path(__file__).resolve().parents[1]
ENGINE = ROOT / "autograder"
PATHLIKE = re.compile(r"[\w.\-/\\:]+")  # a string without spaces or prose: a module or file path, a key


def _names() -> set[str]:
    names = {name.lower() for name in list_assignments(ROOT)}
    assert names, "no assignment found in solutions/"
    return names


def _components(text: str) -> set[str]:
    parts = {p.lower() for p in re.split(r"[./\\:]", text) if p}
    return parts | {p.rsplit(".", 1)[0].lower() for p in re.split(r"[/\\:]", text) if p}  # file stems


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if (isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant)
                    and isinstance(first.value.value, str)):
                found.add(id(first.value))
    return found


def couplings(engine: Path, names: set[str]) -> list[str]:
    """Every place in ``engine`` that names an assignment as code, one line each."""
    found = []
    engine_module = re.compile(r"\b(?:autograder|probes)(?:\.\w+)*\.(" + "|".join(map(re.escape, sorted(names)))
                               + r")\b", re.IGNORECASE)
    for path in sorted(engine.rglob("*")):
        rel = path.relative_to(engine.parent)
        if "__pycache__" in path.parts:
            continue
        stem = path.name.split(".")[0].lower()
        if stem in names:
            found.append(f"{rel}: a file or folder named after the assignment {stem!r}")
        if not path.is_file() or path.suffix != ".py":
            continue
        text = path.read_text("utf-8")
        for match in engine_module.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            found.append(f"{rel}:{line}: names the module {match.group(0)!r}")
        tree = ast.parse(text)
        docs = _docstrings(tree)
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                modules = [f"{node.module or ''}.{alias.name}" for alias in node.names]
            else:
                modules = []
            for module in modules:
                if _components(module) & names:
                    found.append(f"{rel}:{node.lineno}: imports {module!r}")
            if (isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs
                    and PATHLIKE.fullmatch(node.value) and _components(node.value) & names):
                found.append(f"{rel}:{node.lineno}: the path or name {node.value!r}")
    return found


def test_the_engine_names_no_assignment():
    found = couplings(ENGINE, _names())
    assert not found, ("autograder/ must not name an assignment of solutions/ (its helpers go in "
                       "solutions/<name>/worker_helpers.py):\n" + "\n".join(found))


def test_the_rule_catches_an_exercise_module_in_the_engine(tmp_path):
    """The check itself: the coupling this replaced (probes/<name>.py, its import and its name as a
    string) is found, and prose that uses the word is not."""
    engine = tmp_path / "autograder"
    (engine / "probes").mkdir(parents=True)
    (engine / "probes" / "layernorm.py").write_text('"""Helpers of layernorm."""\n')
    (engine / "server.py").write_text(
        '"""Loads probes; e.g. a layernorm exercise."""\n'
        "from .probes import layernorm  # the exercise's\n"
        'WHERE = "autograder.probes.layernorm"\n'
        'FILE = "solutions/layernorm/tests"\n'
        'HELP = "normalize, as layernorm does"\n'
        "# see autograder.probes.layernorm\n")
    found = couplings(engine, {"layernorm"})
    assert any("probes/layernorm.py: a file" in f for f in found), found
    assert any("imports '.probes.layernorm'" in f or "imports 'probes.layernorm'" in f for f in found), found
    assert any("'autograder.probes.layernorm'" in f and "path or name" in f for f in found), found
    assert any("'solutions/layernorm/tests'" in f for f in found), found
    assert any("server.py:6: names the module" in f for f in found), found
    assert not any("HELP" in f or "normalize" in f or ":1:" in f for f in found), found
