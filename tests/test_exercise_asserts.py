"""Every `assert` in the exercises' tests carries a message of its own.

The judge runs with --assert=plain: a student never reads pytest's rewritten
explanation (`assert np.False_`, `+ where ... = <function all at 0x...>`). A
bare assert that fails reads "the check <the test's docstring> failed", which
says what went wrong but not by how much: authors write the message.
"""
from __future__ import annotations

import ast
from pathlib import Path

COURSE = Path(__file__).resolve().parents[1]

def bare_asserts(path: Path) -> list[tuple[int, str, str]]:
    """(line, enclosing function or "<module>", asserted expression) of each assert without a message."""
    source = path.read_text()
    tree = ast.parse(source)
    owner = {}
    for func in ast.walk(tree):
        if isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for node in ast.walk(func):
                owner.setdefault(node, func.name)  # walk order: the outermost function comes first
    return [(node.lineno, owner.get(node, "<module>"), ast.get_source_segment(source, node.test))
            for node in ast.walk(tree) if isinstance(node, ast.Assert) and node.msg is None]


def test_every_assert_in_the_exercises_tests_has_a_message():
    found = []
    for path in sorted(COURSE.glob("solutions/*/tests/**/*.py")):
        name = path.relative_to(COURSE).as_posix()
        found += [f"{name}:{line} in {func}: assert {test}" for line, func, test in bare_asserts(path)]
    assert not found, "write a message for these asserts (`assert check, \"what was expected\"`):\n" + "\n".join(found)


def test_the_scan_finds_a_bare_assert(tmp_path):
    path = tmp_path / "test_x.py"
    path.write_text("def test_a(s):\n    assert s.f(1) == 2, 'f(1) must be 2'\n    assert all(v > 0 for v in s.g())\n")
    assert bare_asserts(path) == [(3, "test_a", "all(v > 0 for v in s.g())")]
