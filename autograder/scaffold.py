"""``autograder new NAME``: a complete, valid assignment to start from.

It writes ``solutions/NAME/`` (a leaky ReLU layer in the functional style, its
public and hidden tests, a mistake catalogue, sample submissions, a
walkthrough notebook) and the oracle test ``tests/test_NAME_reference.py``,
then releases it into ``assignments/NAME/``. As written, it passes
``autograder validate``, ``autograder release --check`` and the engine's
tests; the instructor then replaces the exercise with their own, keeping the
files' shapes (docs/instructors.md, "Adding an assignment, step by step").

The templates below are plain text in which ``__NAME__`` (the module and the
assignment) and ``__TITLE__`` are replaced; nothing else is substituted, so
they read as the files they become.
"""
from __future__ import annotations

import importlib.util
import json
import keyword
import re
import sys
import textwrap
from pathlib import Path

from .config import CONFIG_NAME

NAME_RULE = re.compile(r"[a-z][a-z0-9_]*")
# Files of an assignment folder a module of the same name would clash with, and names pytest or the
# engine treat specially.
RESERVED = {"mistakes", "assignment", "tests", "samples", "conftest", "reference_modules", "autograder"}


class ScaffoldError(Exception):
    """The assignment cannot be created (a bad name, an existing folder); the message says why."""


def check_name(name: str, course: Path) -> None:
    """Refuse a NAME that cannot be both a folder and the primary module's name."""
    if not NAME_RULE.fullmatch(name) or keyword.iskeyword(name):
        raise ScaffoldError(f"{name!r} is not a valid assignment name: use lower-case letters, digits and "
                            "underscores, starting with a letter (it is also the Python module's name)")
    if name in RESERVED or name.startswith("test"):
        raise ScaffoldError(f"{name!r} is reserved (a file of the assignment folder, or a name pytest collects): "
                            "choose another")
    if name in sys.stdlib_module_names or importlib.util.find_spec(name) is not None:
        raise ScaffoldError(f"{name!r} is the name of an installed Python module: a student's {name}.py would "
                            "hide it (or be hidden by it); choose another")
    for path in (course / "solutions" / name, course / "assignments" / name,
                 course / "tests" / f"test_{name}_reference.py"):
        if path.exists():
            raise ScaffoldError(f"{path} already exists: choose another name, or remove it first")


def _fill(template: str, name: str, title: str) -> str:
    return template.replace("__NAME__", name).replace("__TITLE__", title)


# ---------------------------------------------------------------- the reference

MODULE_DOC = '''"""__TITLE__, in numpy.

Every layer comes as a pair of functions in the functional style used by
CS231n:

    out, cache = layer_forward(x, ...)
    dx         = layer_backward(dout, cache)

``cache`` is whatever the forward pass needs to keep for the backward pass;
its format is yours to choose (the grader only hands it back to your own
backward function). ``dout`` is the upstream gradient dL/dout, of the same
shape as ``out``; the backward function returns dL/dx, of the shape of x.

Rules that hold for every function in this file:

* never modify an argument in place, and return new arrays, not views;
* keep the floating dtype of the input (float32 in, float32 out);
* numpy only: no torch.
"""
import numpy as np


'''

FORWARD_DEF = '''def leaky_relu_forward(x, alpha=0.01):
    """Elementwise leaky rectified linear unit: x where x > 0, alpha * x elsewhere.

    As torch.nn.functional.leaky_relu(x, negative_slope=alpha). At x == 0
    both sides give 0.

    Inputs:
    - x: array of shape (d_1, ..., d_k), any shape, floating dtype
    - alpha: float, the slope of the negative side (0 <= alpha < 1)

    Returns a tuple of:
    - out: array of the same shape and dtype as x
    - cache: whatever leaky_relu_backward needs
    """
'''

FORWARD_BODY = '''    out = np.where(x > 0, x, alpha * x)
    cache = (x, alpha)
    return out, cache
'''

BACKWARD_DEF = '''

def leaky_relu_backward(dout, cache):
    """Backward pass of leaky_relu_forward.

    dx = dout where x > 0 and alpha * dout elsewhere; the gradient at exactly
    x == 0 is alpha * dout (as in torch). The mask depends on x, not on dout.

    Inputs:
    - dout: array of shape (d_1, ..., d_k), upstream gradient
    - cache: what leaky_relu_forward returned

    Returns:
    - dx: array of shape (d_1, ..., d_k), gradient with respect to x, dtype of dout
    """
'''

BACKWARD_BODY = '''    x, alpha = cache
    dx = np.where(x > 0, dout, alpha * dout)
    return dx
'''


def _marked(body: str) -> str:
    return f"    ### BEGIN SOLUTION\n{body}    ### END SOLUTION\n"


def reference_source(name: str, title: str) -> str:
    """The reference module, solutions between markers."""
    return (_fill(MODULE_DOC, name, title) + FORWARD_DEF + _marked(FORWARD_BODY)
            + BACKWARD_DEF + _marked(BACKWARD_BODY))


# ---------------------------------------------------------------- the mistakes
# (name, target, hint, wrong body of the target, sample folder). Each wrong body is a student's
# version of the target's solution block; mistakes.py and the wrong-* samples are both made from it.

MISTAKES = [
    ("slope applied to the positive side", "leaky_relu_forward",
     "alpha multiplies the NEGATIVE inputs: out = x where x > 0, alpha * x elsewhere.",
     '''    out = np.where(x > 0, alpha * x, x)
    cache = (x, alpha)
    return out, cache
''', "wrong-slope-on-positive-side"),
    ("backward of a plain ReLU (no gradient on the negative side)", "leaky_relu_backward",
     "Where x <= 0 the forward pass is alpha * x, so its gradient is alpha * dout, not 0.",
     '''    x, alpha = cache
    dx = np.where(x > 0, dout, 0 * dout)
    return dx
''', "wrong-relu-backward"),
    ("mask taken from dout instead of x", "leaky_relu_backward",
     "Which side of the kink a unit is on depends on the forward's input x (keep it in the cache), "
     "not on the sign of the upstream gradient dout.",
     '''    x, alpha = cache
    dx = np.where(dout > 0, dout, alpha * dout)
    return dx
''', "wrong-mask-from-dout"),
]

MISTAKES_DOC = '''"""Known mistakes of the __NAME__ assignment.

Each variant is a small wrong copy of ONE reference function, registered with
@mistake(target, name, hint). The engine binds it to a copy of the reference
module in which the target is replaced, so a body may use the reference's
globals (np) and must read the cache of the reference's forward pass:

    leaky_relu_forward: cache = (x, alpha)

`autograder validate __NAME__` proves that a hidden test catches and names each
one; the engine's tests want at least three.
"""
import numpy as np

from autograder.mistakes import mistake
'''

SIGNATURES = {"leaky_relu_forward": "def leaky_relu_forward(x, alpha=0.01):",
              "leaky_relu_backward": "def leaky_relu_backward(dout, cache):"}


def mistakes_source(name: str, title: str) -> str:
    parts = [_fill(MISTAKES_DOC, name, title)]
    seen = set()
    for mistake_name, target, hint, body, _ in MISTAKES:
        noqa = "  # noqa: F811" if target in seen else ""
        seen.add(target)
        lines = textwrap.wrap(hint, 90, break_on_hyphens=False)
        hint_text = "\n              ".join(json.dumps(line + (" " if i < len(lines) - 1 else ""))
                                          for i, line in enumerate(lines))
        parts.append(f"\n\n@mistake({json.dumps(target)}, {json.dumps(mistake_name)},\n         hint={hint_text})\n"
                     f"{SIGNATURES[target]}{noqa}\n{body}")
    return "".join(parts)


def sample_source(name: str, title: str, target: str, body: str) -> str:
    """A student's submission: the reference with one function's body wrong. Its solution markers
    stay (a student's file has none, and grading ignores them) so that its patch shows that body alone."""
    forward = body if target == "leaky_relu_forward" else FORWARD_BODY
    backward = body if target == "leaky_relu_backward" else BACKWARD_BODY
    return _fill(MODULE_DOC, name, title) + FORWARD_DEF + _marked(forward) + BACKWARD_DEF + _marked(backward)


def expected_toml() -> str:
    lines = ["# What each sample submission must score (format: autograder/samples.py).",
             "# reference and stub are made from the solution. Each wrong-* sample is a patch of the",
             "# reference (wrong-*.patch) with one catalogued mistake (mistakes.py); the engine's tests",
             "# want at least three.", "",
             "[reference]", 'score = "max"', "", "[stub]", "score = 0",
             'output_contains = "not implemented yet"']
    for mistake_name, _, _, _, folder in MISTAKES:
        lines += ["", f"[{folder}]", "below_max = true", f"mistakes = [{json.dumps(mistake_name)}]"]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------- assignment.toml

ASSIGNMENT_TOML = '''[assignment]
name = "__NAME__"  # what `autograder check __NAME__` matches, whatever the student's folder is called
title = "__TITLE__"
modules = ["__NAME__"]

[limits]
# The reference passes every test in well under a second; these bounds contain
# a hanging or exploding submission in 30 s without ever pinching a correct one.
call_seconds = 5
submission_seconds = 30
memory_mb = 1024

[environment]
# What the grader runs (PEP 440 specifiers); `autograder check` warns a student
# whose versions differ. tests/test_environment.py checks that the grader's own
# interpreter satisfies these pins.
python = ">=3.11"
numpy = ">=2.0,<3"
torch = ">=2.1,<3"
'''

# ---------------------------------------------------------------- the tests

TEST_PUBLIC = '''"""Public tests for the __NAME__ assignment: run them locally while you work
(`autograder check __NAME__`).

They check a few values computed by hand and your backward pass against
finite differences of your forward pass. Passing them is a good sign, not a
guarantee: the hidden tests compare with the reference solution on random
shapes, float32 and float64, several slopes and the default one.
"""
import numpy as np
import pytest

from autograder import assert_close, forward_backward, forward_backward_numeric, points

pytestmark = pytest.mark.public


@points(1)
def test_leaky_relu_forward_by_hand(submission):
    """alpha = 0.1: negative inputs are multiplied by 0.1, the others kept."""
    x = np.array([[-2.0, -0.5, 0.5, 3.0]])
    out, _ = submission.leaky_relu_forward(x, 0.1)
    assert_close(out, np.array([[-0.2, -0.05, 0.5, 3.0]]), what="leaky_relu(x, 0.1)")


@points(1)
def test_leaky_relu_backward_by_hand(submission):
    """The mask comes from x: x < 0 gets alpha * dout whatever the sign of dout."""
    x = np.array([[-2.0, -0.5, 0.5, 3.0]])
    dout = np.array([[1.0, -1.0, 1.0, -1.0]])
    _, dx = forward_backward(submission.leaky_relu_forward, submission.leaky_relu_backward, (x, 0.1), dout)
    assert_close(dx, np.array([[0.1, -0.1, 1.0, -1.0]]), what="dx")


@points(1)
def test_leaky_relu_backward_matches_numeric_gradient(submission, rng):
    """Your dx against centered differences (of your forward here; of the reference's when graded)."""
    x = rng.uniform(0.1, 1.5, size=(3, 4)) * rng.choice([-1.0, 1.0], size=(3, 4))  # off the kink
    dout = rng.normal(size=(3, 4))
    _, dx, (expected,) = forward_backward_numeric(
        submission.leaky_relu_forward, submission.leaky_relu_backward, (x, 0.2), dout)
    assert_close(dx, expected, rtol=1e-6, atol=1e-8, what="leaky_relu_backward dx")
'''

TEST_HIDDEN = '''"""Hidden tests for the __NAME__ assignment.

Every value is compared with the reference solution (`reference`), or with the
reference's numerical gradient, on the same inputs; never with the student's
own code. The inputs decide whatever the seed: signs of x and dout disagree at
fixed places (a mask taken from dout shows), the magnitudes stay away from the
kink, and the slope is never the default where a test is about the slope.
"""
import numpy as np
import pytest

from autograder import assert_close, call_pure, forward_backward, forward_backward_numeric, points

F32 = dict(rtol=1e-6, atol=1e-7)  # float32 inputs: one rounding per element


def _inputs(rng, dtype=np.float64):
    """x and dout of a random shape (N, 4k) whose signs follow a fixed pattern per group of four:
    x (+, +, -, -) and dout (+, -, +, -). Every seed then has inputs on both sides of the kink, and
    elements where sign(x) and sign(dout) disagree. Magnitudes in [0.1, 2]: off the kink."""
    shape = (int(rng.integers(2, 6)), 4 * int(rng.integers(1, 4)))
    x = rng.uniform(0.1, 2.0, size=shape) * np.resize([1.0, 1.0, -1.0, -1.0], shape)
    dout = rng.uniform(0.1, 2.0, size=shape) * np.resize([1.0, -1.0, 1.0, -1.0], shape)
    return x.astype(dtype), dout.astype(dtype)


@points(2)
@pytest.mark.parametrize("alpha", [0.1, 0.3])
def test_leaky_relu_forward(submission, reference, rng, alpha):
    x, _ = _inputs(rng)
    out, _ = submission.leaky_relu_forward(x, alpha)
    assert_close(out, reference.leaky_relu_forward(x, alpha)[0], what=f"leaky_relu(x, {alpha})")


@points(1)
def test_leaky_relu_default_slope_is_0_01(submission, reference, rng):
    x, _ = _inputs(rng)
    out, _ = submission.leaky_relu_forward(x)
    assert_close(out, reference.leaky_relu_forward(x)[0], what="leaky_relu(x) (alpha = 0.01 by default)")


@points(2)
@pytest.mark.parametrize("alpha", [0.1, 0.3])
def test_leaky_relu_backward(submission, reference, rng, alpha):
    x, dout = _inputs(rng)
    _, dx = forward_backward(submission.leaky_relu_forward, submission.leaky_relu_backward, (x, alpha), dout)
    _, ref_cache = reference.leaky_relu_forward(x, alpha)
    assert_close(dx, reference.leaky_relu_backward(dout, ref_cache), what="leaky_relu_backward dx")


@points(1)
def test_leaky_relu_backward_matches_the_reference_numeric_gradient(submission, rng):
    """Anchored: when graded, the numerical gradient is the reference forward's."""
    x, dout = _inputs(rng)
    _, dx, (expected,) = forward_backward_numeric(
        submission.leaky_relu_forward, submission.leaky_relu_backward, (x, 0.2), dout)
    assert_close(dx, expected, rtol=1e-6, atol=1e-8, what="leaky_relu_backward dx")


@points(1)
def test_leaky_relu_float32(submission, reference, rng):
    """float32 in, float32 out, forward and backward."""
    x, dout = _inputs(rng, np.float32)
    out, dx = forward_backward(submission.leaky_relu_forward, submission.leaky_relu_backward, (x, 0.2), dout)
    ref_out, ref_cache = reference.leaky_relu_forward(x, 0.2)
    assert_close(out, ref_out, **F32, what="leaky_relu(x) in float32")
    assert_close(dx, reference.leaky_relu_backward(dout, ref_cache), **F32, what="dx in float32")


@points(1)
def test_leaky_relu_leaves_its_inputs_alone(submission, reference, rng):
    """No argument changed in place, no result sharing memory with an argument; values right too."""
    x, dout = _inputs(rng)
    out, cache = submission.leaky_relu_forward(x, 0.2)
    dx = call_pure(submission.leaky_relu_backward, dout, cache)
    _, ref_cache = reference.leaky_relu_forward(x, 0.2)
    assert_close(dx, reference.leaky_relu_backward(dout, ref_cache), what="leaky_relu_backward dx")
    result = submission.leaky_relu_forward.inspect(x, 0.2)
    assert_close(result.args_after[0], x, rtol=0, atol=0, what="x after leaky_relu_forward (must be unchanged)")
    assert "[0]" not in result.aliases, "out shares memory with x: return a new array, not a view"
    assert_close(result.value[0], reference.leaky_relu_forward(x, 0.2)[0], what="leaky_relu(x, 0.2)")
'''

ORACLE_TEST = '''"""The __NAME__ reference solution, checked against an independent oracle.

torch is the oracle: torch.nn.functional.leaky_relu for the forward pass and
torch.autograd (float64) for the backward pass. Plain pytest: no engine
involved. `load_reference` imports solutions/__NAME__/__NAME__.py under a private
name, so it never clashes with another module called __NAME__.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from reference_modules import load_reference

(ref,) = load_reference("__NAME__", "__NAME__")


@pytest.mark.parametrize("alpha", [0.0, 0.01, 0.2, 0.9])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_against_torch(alpha, dtype):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 7)).astype(dtype)
    x[0, :3] = [0.0, -0.0, 1e-30]  # the kink
    dout = rng.normal(size=(5, 7)).astype(dtype)
    out, cache = ref.leaky_relu_forward(x, alpha)
    dx = ref.leaky_relu_backward(dout, cache)
    tx = torch.tensor(x, requires_grad=True)
    tout = F.leaky_relu(tx, negative_slope=alpha)
    tout.backward(torch.tensor(dout))
    assert out.dtype == dtype and dx.dtype == dtype
    np.testing.assert_allclose(out, tout.detach().numpy(), rtol=1e-6, atol=0)
    np.testing.assert_allclose(dx, tx.grad.numpy(), rtol=1e-6, atol=0)


def test_default_slope_is_torchs():
    x = np.linspace(-3, 3, 13)
    out, _ = ref.leaky_relu_forward(x)
    np.testing.assert_allclose(out, F.leaky_relu(torch.tensor(x)).numpy(), rtol=1e-12, atol=0)


def test_leaves_its_inputs_alone():
    x, dout = np.linspace(-1, 1, 8), np.linspace(1, -1, 8)
    x0, dout0 = x.copy(), dout.copy()
    out, cache = ref.leaky_relu_forward(x, 0.1)
    dx = ref.leaky_relu_backward(dout, cache)
    assert np.array_equal(x, x0) and np.array_equal(dout, dout0)
    assert not np.shares_memory(out, x) and not np.shares_memory(dx, dout)
'''

# tests/reference_modules.py, for a course whose tests/ folder does not have it yet: this repository's own
# copy, word for word (tests/test_scaffold.py holds them equal).
REFERENCE_MODULES = '''"""The reference modules of an assignment, imported from solutions/ for the oracle tests."""
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
'''

# ---------------------------------------------------------------- the notebook

NOTEBOOK_CELLS = [
    ("markdown", '''# __TITLE__

This notebook walks you through the assignment. The graded code lives in
`__NAME__.py`: implement the functions there, then run the cells below, which
import your module and draw the plots. After you edit `__NAME__.py`, the
`autoreload` below picks up the change.'''),
    ("code", '''%matplotlib inline
%load_ext autoreload
%autoreload 2

import numpy as np
import matplotlib.pyplot as plt

import __NAME__

plt.rcParams["figure.figsize"] = (8, 4)
rng = np.random.default_rng(0)'''),
    ("markdown", '''## 1. The forward pass

The leaky ReLU keeps positive inputs and multiplies the others by a small
slope $\\alpha$: $f(x) = x$ for $x > 0$, $\\alpha x$ otherwise. With
$\\alpha = 0$ it is the plain ReLU.'''),
    ("code", '''x = np.linspace(-3, 3, 601)
for alpha in [0.0, 0.1, 0.3]:
    out, _ = __NAME__.leaky_relu_forward(x, alpha)
    plt.plot(x, out, label=f"alpha = {alpha}")
plt.axhline(0, color="gray", linewidth=0.5)
plt.legend()
plt.title("leaky_relu_forward")
plt.show()'''),
    ("markdown", '''## 2. The backward pass

The derivative is 1 for $x > 0$ and $\\alpha$ elsewhere, so
`dx = dout` where `x > 0` and `alpha * dout` elsewhere. Which side a unit is
on depends on `x`, not on `dout`: keep `x` in the cache. Below, your `dx`
against centered differences of your forward pass.'''),
    ("code", '''def numerical_gradient(f, x, dout, h=1e-6):
    grad = np.zeros_like(x)
    for i in np.ndindex(x.shape):
        old = x[i]
        x[i] = old + h
        plus = np.sum(f(x) * dout)
        x[i] = old - h
        minus = np.sum(f(x) * dout)
        x[i] = old
        grad[i] = (plus - minus) / (2 * h)
    return grad


x = rng.uniform(0.1, 2.0, size=(4, 6)) * rng.choice([-1.0, 1.0], size=(4, 6))
dout = rng.normal(size=(4, 6))
_, cache = __NAME__.leaky_relu_forward(x, 0.1)
dx = __NAME__.leaky_relu_backward(dout, cache)
num = numerical_gradient(lambda v: __NAME__.leaky_relu_forward(v, 0.1)[0], x.copy(), dout)
print("max |dx - numerical| =", np.max(np.abs(dx - num)))'''),
    ("code", '''x = np.linspace(-3, 3, 601)
for alpha in [0.0, 0.1, 0.3]:
    _, cache = __NAME__.leaky_relu_forward(x, alpha)
    plt.plot(x, __NAME__.leaky_relu_backward(np.ones_like(x), cache), label=f"alpha = {alpha}")
plt.legend()
plt.title("leaky_relu_backward with dout = 1: the derivative")
plt.show()'''),
    ("markdown", '''That's it. Run `autograder check __NAME__` one last time, then submit
`__NAME__.py`.'''),
]


def notebook_source(name: str, title: str) -> str:
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
                   "language_info": {"name": "python"}}
    for i, (kind, source) in enumerate(NOTEBOOK_CELLS):
        make = nbformat.v4.new_markdown_cell if kind == "markdown" else nbformat.v4.new_code_cell
        nb.cells.append(make(_fill(source, name, title), id=f"{name[:20]}-{i:02d}"))
    nbformat.validate(nb)
    return nbformat.writes(nb) + "\n"


# ---------------------------------------------------------------- writing it all

def files(name: str, title: str) -> dict[str, str]:
    """Every file of the new assignment, by path relative to the course."""
    from .samples import PATCH_SUFFIX, make_patch

    reference = reference_source(name, title)
    base = f"solutions/{name}"
    written = {
        f"{base}/{CONFIG_NAME}": _fill(ASSIGNMENT_TOML, name, title),
        f"{base}/{name}.py": reference,
        f"{base}/{name}.ipynb": notebook_source(name, title),
        f"{base}/mistakes.py": mistakes_source(name, title),
        f"{base}/tests/test_public.py": _fill(TEST_PUBLIC, name, title),
        f"{base}/tests/test_hidden.py": _fill(TEST_HIDDEN, name, title),
        f"{base}/samples/expected.toml": expected_toml(),
        f"tests/test_{name}_reference.py": _fill(ORACLE_TEST, name, title),
    }
    module = f"{name}.py"
    for mistake_name, target, _, body, folder in MISTAKES:
        wrong = sample_source(name, title, target, body)
        written[f"{base}/samples/{folder}{PATCH_SUFFIX}"] = make_patch(
            "reference", {module: reference.encode()}, folder, {module: wrong.encode()},
            f"A student's {target} with the mistake: {mistake_name}.")
    return written


def create(course: Path, name: str, title: str | None = None) -> list[Path]:
    """Write the assignment NAME into ``course`` and release it. Returns the files written."""
    course = Path(course).resolve()
    check_name(name, course)
    title = title or name.replace("_", " ").capitalize()
    if '"' in title or "\\" in title or "\n" in title:
        raise ScaffoldError("the title may not contain quotes, backslashes or line breaks")
    paths = []
    planned = files(name, title)
    if not (course / "tests" / "reference_modules.py").exists():
        planned["tests/reference_modules.py"] = REFERENCE_MODULES
    for rel, text in planned.items():
        path = course / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        paths.append(path)
    from .release import release_course

    (course / "assignments").mkdir(exist_ok=True)
    released = release_course(course, [name])
    paths += [course / "assignments" / name / rel for rel in released[name]]
    return paths
