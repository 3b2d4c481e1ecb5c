"""Tests of autograder.release: solutions/ -> assignments/."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import nbformat
import pytest

from autograder.release import (
    ReleaseError,
    release_assignment,
    release_course,
    release_drift,
    release_notebook,
    strip_solutions,
)


def src(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def stub(indent: str, qualname: str) -> str:
    return f'{indent}# YOUR CODE HERE\n{indent}raise NotImplementedError("{qualname}: not implemented yet")\n'


def load(code: str, name: str = "mod") -> dict:
    namespace: dict = {"__name__": name}
    exec(compile(code, f"{name}.py", "exec"), namespace)
    return namespace


# --------------------------------------------------------------------------
# strip_solutions
# --------------------------------------------------------------------------

FUNCTION = src('''
    import numpy as np


    def relu_forward(x):
        """x: array of any shape."""
        ### BEGIN SOLUTION
        out = np.maximum(0, x)
        ### END SOLUTION
        return out, x
''')


def test_function_block_becomes_indented_stub():
    released = strip_solutions(FUNCTION, "layers")
    assert "np.maximum" not in released
    assert stub("    ", "relu_forward") in released
    assert released.endswith('    raise NotImplementedError("relu_forward: not implemented yet")\n    return out, x\n')


def test_released_stub_compiles_and_raises_with_its_name():
    namespace = load(strip_solutions(FUNCTION, "layers"))
    with pytest.raises(NotImplementedError, match=r"^relu_forward: not implemented yet$"):
        namespace["relu_forward"](1.0)


def test_method_is_named_with_its_class():
    source = src('''
        class SigmoidFunction:
            @staticmethod
            def forward(ctx, x):
                ### BEGIN SOLUTION
                return x
                ### END SOLUTION
    ''')
    released = strip_solutions(source, "functions")
    assert stub("        ", "SigmoidFunction.forward") in released
    with pytest.raises(NotImplementedError, match="SigmoidFunction.forward: not implemented yet"):
        load(released)["SigmoidFunction"].forward(None, 1)


def test_nested_function_names_the_innermost():
    source = src('''
        def outer(x):
            def inner(y):
                ### BEGIN SOLUTION
                return y * 2
                ### END SOLUTION
            ### BEGIN SOLUTION
            return inner(x)
            ### END SOLUTION
    ''')
    released = strip_solutions(source, "m")
    assert stub("        ", "inner") in released
    assert stub("    ", "outer") in released
    with pytest.raises(NotImplementedError, match="outer: not implemented yet"):
        load(released)["outer"](1)


def test_two_blocks_in_one_file_and_module_level_block():
    source = src('''
        ### BEGIN SOLUTION
        CONSTANT = 3
        ### END SOLUTION


        def f():
            return 1


        def g(x):
            # BEGIN SOLUTION
            return x + 1
            # END SOLUTION
    ''')
    released = strip_solutions(source, "optim")
    assert released.startswith(stub("", "optim"))
    assert stub("    ", "g") in released
    assert "return x + 1" not in released and "CONSTANT" not in released
    assert "def f():\n    return 1\n" in released


def test_comment_only_block_at_end_of_body_is_named_by_its_function():
    source = src('''
        def f(x):
            y = x
            ### BEGIN SOLUTION
            # nothing to do
            ### END SOLUTION


        ### BEGIN SOLUTION
        ### END SOLUTION
    ''')
    released = strip_solutions(source, "m")
    assert stub("    ", "f") in released
    assert released.endswith(stub("", "m"))


def test_source_without_markers_is_unchanged():
    assert strip_solutions("x = 1\n", "m") == "x = 1\n"


@pytest.mark.parametrize("source, line, what", [
    ("def f():\n    ### BEGIN SOLUTION\n    return 1\n", 2, "never closed"),
    ("def f():\n    return 1\n    ### END SOLUTION\n", 3, "without a matching BEGIN"),
    ("def f():\n    ### BEGIN SOLUTION\n    ### BEGIN SOLUTION\n    return 1\n    ### END SOLUTION\n", 3, "nested"),
])
def test_unbalanced_markers_are_errors_naming_the_line(source, line, what):
    with pytest.raises(ReleaseError, match=rf"layers.py:{line}: .*{what}"):
        strip_solutions(source, "layers", where="layers.py")


def test_crlf_line_endings_are_kept():
    released = strip_solutions(FUNCTION.replace("\n", "\r\n"), "layers")
    assert "\n" not in released.replace("\r\n", "")
    assert 'raise NotImplementedError("relu_forward: not implemented yet")\r\n' in released


# --------------------------------------------------------------------------
# notebooks
# --------------------------------------------------------------------------

def make_notebook() -> str:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Softmax"),
        nbformat.v4.new_code_cell(
            "def softmax(x):\n    ### BEGIN SOLUTION\n    return x\n    ### END SOLUTION\n",
            execution_count=3,
            outputs=[nbformat.v4.new_output("stream", name="stdout", text="hi\n")],
            metadata={"nbgrader": {"solution": True, "grade": False, "grade_id": "softmax",
                                   "locked": False, "schema_version": 3}},
        ),
        nbformat.v4.new_code_cell(
            "answer = 42",
            metadata={"nbgrader": {"solution": True, "grade": False, "grade_id": "free",
                                   "locked": False, "schema_version": 3}},
        ),
        nbformat.v4.new_code_cell("%matplotlib inline\n### BEGIN SOLUTION\nplot()\n### END SOLUTION"),
        nbformat.v4.new_code_cell("print(1)", execution_count=1,
                                  outputs=[nbformat.v4.new_output("stream", name="stdout", text="1\n")]),
    ]
    return nbformat.writes(nb)


def test_notebook_solution_blocks_replaced_and_outputs_cleared():
    out = nbformat.reads(release_notebook(make_notebook()), as_version=4)
    markdown, softmax, free, magic, plain = out.cells
    assert markdown.source == "# Softmax"
    assert softmax.source == "def softmax(x):\n" + stub("    ", "softmax")
    assert magic.source == "%matplotlib inline\n" + stub("", "this cell").rstrip("\n")
    assert plain.source == "print(1)"
    for cell in (softmax, free, magic, plain):
        assert cell.outputs == [] and cell.execution_count is None
    # metadata survives, so the notebook stays an nbgrader source notebook
    assert softmax.metadata["nbgrader"]["grade_id"] == "softmax"
    assert out.metadata["kernelspec"]["name"] == "python3"


def test_nbgrader_solution_cell_without_markers_gets_nbgrader_stub():
    free = nbformat.reads(release_notebook(make_notebook()), as_version=4).cells[2]
    assert free.source == "# YOUR CODE HERE\nraise NotImplementedError()"


def test_notebook_release_is_deterministic_even_without_cell_ids():
    raw = json.loads(make_notebook())
    for cell in raw["cells"]:
        del cell["id"]
    text = json.dumps(raw)
    first = release_notebook(text)
    assert first == release_notebook(text)
    assert first.endswith("\n")
    nbformat.validate(nbformat.reads(first, as_version=4))


# --------------------------------------------------------------------------
# assignments
# --------------------------------------------------------------------------

def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


@pytest.fixture
def course(tmp_path: Path) -> Path:
    a = tmp_path / "solutions" / "backprop"
    write(a / "assignment.toml", 'name = "backprop"\n')
    write(a / "layers.py", FUNCTION)
    write(a / "mistakes.py", "def relu_forward(x):\n    return x, x\n")
    write(a / "tests" / "test_public_layers.py", "def test_shape(submission):\n    pass\n")
    write(a / "tests" / "test_hidden_layers.py", "def test_values(submission):\n    pass\n")
    write(a / "tests" / "conftest.py", "")
    write(a / "tests" / "data" / "expected.json", "{}")
    write(a / "samples" / "perfect" / "layers.py", "x = 1\n")
    write(a / "data" / "weights.txt", "1 2 3\n")
    write(a / "walkthrough.ipynb", make_notebook())
    write(a / "__pycache__" / "layers.cpython-311.pyc", "junk")
    write(a / ".ipynb_checkpoints" / "walkthrough-checkpoint.ipynb", "{}")
    write(tmp_path / "solutions" / "notes" / "README.md", "not an assignment\n")
    return tmp_path


EXPECTED = [
    Path("assignment.toml"),
    Path("data/weights.txt"),
    Path("layers.py"),
    Path("tests/test_public_layers.py"),
    Path("walkthrough.ipynb"),
]


def test_release_copies_only_what_students_may_see(course: Path):
    dst = course / "assignments" / "backprop"
    written = release_assignment(course / "solutions" / "backprop", dst)
    assert written == EXPECTED
    on_disk = sorted(p.relative_to(dst) for p in dst.rglob("*") if p.is_file())
    assert on_disk == EXPECTED
    assert (dst / "data" / "weights.txt").read_text() == "1 2 3\n"
    assert (dst / "tests" / "test_public_layers.py").read_text().startswith("def test_shape")
    assert "np.maximum" not in (dst / "layers.py").read_text()


def test_release_removes_stale_files(course: Path):
    dst = course / "assignments" / "backprop"
    write(dst / "old_module.py", "x = 1\n")
    write(dst / "tests" / "test_hidden_leak.py", "")
    release_assignment(course / "solutions" / "backprop", dst)
    assert not (dst / "old_module.py").exists()
    assert not (dst / "tests" / "test_hidden_leak.py").exists()


def test_markers_in_public_tests_are_an_error(course: Path):
    write(course / "solutions" / "backprop" / "tests" / "test_public_x.py",
          "def test_x():\n    ### BEGIN SOLUTION\n    pass\n    ### END SOLUTION\n")
    with pytest.raises(ReleaseError, match="test_public_x.py.*markers"):
        release_assignment(course / "solutions" / "backprop", course / "assignments" / "backprop")


def test_failed_release_leaves_dst_alone(course: Path):
    dst = course / "assignments" / "backprop"
    write(dst / "keep.txt", "")
    write(course / "solutions" / "backprop" / "broken.py", "def f():\n    ### BEGIN SOLUTION\n")
    with pytest.raises(ReleaseError, match=r"broken.py:2"):
        release_assignment(course / "solutions" / "backprop", dst)
    assert (dst / "keep.txt").exists()


def test_released_code_that_does_not_compile_is_an_error(course: Path):
    # A block that is the whole expression of a statement cannot become a raise.
    write(course / "solutions" / "backprop" / "odd.py",
          "x = (\n    ### BEGIN SOLUTION\n    1\n    ### END SOLUTION\n)\n")
    with pytest.raises(ReleaseError, match="does not compile"):
        release_assignment(course / "solutions" / "backprop", course / "assignments" / "backprop")


def test_release_course_and_drift(course: Path):
    assert release_drift(course) == [
        "missing: backprop/assignment.toml",
        "missing: backprop/data/weights.txt",
        "missing: backprop/layers.py",
        "missing: backprop/tests/test_public_layers.py",
        "missing: backprop/walkthrough.ipynb",
    ]
    assert release_course(course) == {"backprop": EXPECTED}
    assert release_drift(course) == []

    released = course / "assignments" / "backprop"
    write(released / "__pycache__" / "layers.cpython-311.pyc", "ignored")  # students run tests here
    write(released / "extra.py", "")
    (released / "layers.py").write_text(FUNCTION)
    write(course / "assignments" / "retired" / "a.py", "")
    assert release_drift(course) == [
        "extra: retired/ (no solutions/retired/assignment.toml; delete it)",
        "extra: backprop/extra.py",
        "differs: backprop/layers.py",
    ]
    assert release_drift(course, ["backprop"]) == ["extra: backprop/extra.py", "differs: backprop/layers.py"]
    with pytest.raises(ReleaseError, match="notes"):
        release_course(course, ["notes"])


def test_release_is_deterministic(course: Path, tmp_path: Path):
    a, b = tmp_path / "a", tmp_path / "b"
    release_assignment(course / "solutions" / "backprop", a)
    release_assignment(course / "solutions" / "backprop", b)
    for rel in EXPECTED:
        assert (a / rel).read_bytes() == (b / rel).read_bytes()


def test_empty_course_has_no_drift(tmp_path: Path):
    assert release_course(tmp_path) == {}
    assert release_drift(tmp_path) == []


# --------------------------------------------------------------------------
# the repository itself
# --------------------------------------------------------------------------

def test_assignments_in_sync_with_solutions():
    course = Path(__file__).resolve().parents[1]
    drift = release_drift(course)
    assert drift == [], (
        "assignments/ differs from what `autograder release` would write:\n"
        + "\n".join(drift)
        + "\nRun `autograder release` and commit the result."
    )
