"""Assertions whose failure message tells a student what to fix.

``assert_close`` reports the shapes and dtypes of both sides, the largest
absolute and relative error, the index of the first mismatch and how many
NaN/inf values each side holds. All of it runs in the judge, on plain data.
"""
from __future__ import annotations

import contextlib
import re
import sys
from typing import Any, Callable

import numpy as np

from .errors import BadReturn
from .proxy import AuthoringError, Handle, Inspection, Remote, _who, differentiating


def _to_numpy(value: Any, what: str) -> tuple[np.ndarray, str]:
    """The value as an ndarray, plus a description of what it was."""
    if isinstance(value, Handle):
        raise BadReturn(f"{what}: expected an array, but your code returned an object of type {value.type_name}")
    if isinstance(value, Remote):
        raise BadReturn(f"{what}: expected an array, got a reference to {value.dotted}")
    if value is None:
        raise BadReturn(f"{what}: your code returned None; did you forget a `return`?")
    try:
        import torch

        if isinstance(value, torch.Tensor):
            plain = value.detach().cpu()
            if plain.dtype == torch.bfloat16:
                plain = plain.float()  # numpy has no bfloat16; float32 holds every value exactly
            return plain.numpy(), f"tensor {str(value.dtype).removeprefix('torch.')} on {value.device}"
    except ImportError:
        pass
    if isinstance(value, np.ndarray):
        return value, f"array {value.dtype}"
    if isinstance(value, (bool, int, float, complex, np.generic)):
        return np.asarray(value), f"{type(value).__name__}"
    if isinstance(value, (list, tuple)):
        try:
            return np.asarray(value, dtype=float), type(value).__name__
        except (TypeError, ValueError):
            pass
    raise BadReturn(f"{what}: expected an array, but your code returned a {type(value).__name__}")


def assert_close(actual: Any, expected: Any, rtol: float = 1e-7, atol: float = 1e-9, what: str = "result") -> None:
    """Check that ``actual`` (the student's) matches ``expected`` (the reference's).

    Tuples are compared element by element: ``what[i]`` in messages, or the i-th name where
    ``what`` names the parts, as in ``"(dx, dw, db) with N=1"`` (``dw with N=1``).
    Elementwise: |actual - expected| <= atol + rtol * |expected|; NaN matches NaN
    only where the expected value is NaN too. A floating-point result must have the
    reference's dtype; where the reference returns a plain Python float, any float
    with enough digits for ``rtol`` will do (``_dtype_problem``).
    """
    if isinstance(expected, tuple) and not isinstance(actual, Handle):
        if not isinstance(actual, (tuple, list)) or len(actual) != len(expected):
            got = f"a {type(actual).__name__}" + (f" of length {len(actual)}" if isinstance(actual, (tuple, list)) else "")
            raise BadReturn(f"{what}: expected a tuple of {len(expected)} values, got {got}")
        for i, (a, e) in enumerate(zip(actual, expected)):
            assert_close(a, e, rtol=rtol, atol=atol, what=_element(what, i, len(expected)))
        return
    if isinstance(expected, dict):
        if not isinstance(actual, dict):
            raise BadReturn(f"{what}: expected a dict with keys {sorted(expected)}, got a {type(actual).__name__}")
        missing = sorted(set(expected) - set(actual))
        if missing:
            raise AssertionError(f"{what}: missing key(s) {missing}")
        for key in expected:
            assert_close(actual[key], expected[key], rtol=rtol, atol=atol, what=f"{what}[{key!r}]")
        return
    a, a_desc = _to_numpy(actual, what)
    e, e_desc = _to_numpy(expected, f"{what} (reference)")
    header = f"{what}: yours is {a_desc} of shape {a.shape}, expected {e_desc} of shape {e.shape}"
    if a.shape != e.shape:
        raise AssertionError(f"{header}.\nThe shapes differ: check your reshapes, sums (axis=?) and broadcasting.")
    if a.dtype.kind not in "biufc":
        raise BadReturn(f"{header}.\nYour values are not numbers (dtype {a.dtype}).")
    problem = _dtype_problem(actual, expected, a, e, rtol)
    if problem:
        raise AssertionError(f"{header}.\n{problem}")
    a64 = a.astype(np.complex128 if a.dtype.kind == "c" else np.float64)
    e64 = e.astype(np.complex128 if e.dtype.kind == "c" else np.float64)
    both_nan = np.isnan(a64) & np.isnan(e64)
    same_inf = np.isinf(a64) & np.isinf(e64) & (a64 == e64)
    with np.errstate(invalid="ignore", over="ignore"):
        diff = np.abs(a64 - e64)
        bad = ~(both_nan | same_inf | (diff <= atol + rtol * np.abs(e64)))
    if not bad.any():
        return
    lines = [header + "."]
    lines.append(f"{int(bad.sum())} of {a.size} values differ (tolerance: atol={atol:g}, rtol={rtol:g}).")
    finite = np.isfinite(diff) & bad
    if finite.any():
        lines.append(_error_sizes(diff[finite], np.abs(e64[finite])))
    first = tuple(int(i) for i in np.argwhere(bad)[0])
    where = f"[{', '.join(map(str, first))}]" if first else ""
    lines.append(f"First mismatch at {what}{where}: yours {a[first].item()!r}, expected {e[first].item()!r}.")
    for name, arr in (("yours", a64), ("expected", e64)):
        n_nan, n_inf = int(np.isnan(arr).sum()), int(np.isinf(arr).sum())
        if n_nan or n_inf:
            lines.append(f"{name.capitalize()} holds {n_nan} NaN and {n_inf} inf values.")
    if np.isnan(a64).sum() + np.isinf(a64).sum() > np.isnan(e64).sum() + np.isinf(e64).sum():
        lines.append("NaN or inf where the reference is finite usually means an overflow: "
                     "look for exp() of large numbers or a division by zero.")
    raise AssertionError("\n".join(lines))


def _dtype_problem(actual: Any, expected: Any, a: np.ndarray, e: np.ndarray, rtol: float) -> str | None:
    """Why the dtype of ``actual`` is wrong where the reference returned ``expected``; None if it is right.

    An array's dtype is part of the answer (float32 in, float32 out): a floating-point result
    must have the reference's dtype, narrower and wider alike. A number where the reference
    returns a plain Python float has no dtype to match; it must only hold enough digits for
    the check's tolerance, which the test chose for its inputs' precision (a float32 number
    passes a float32 tolerance, and fails a float64 one however lucky its rounding).
    """
    if e.dtype.kind != "f":
        return None
    mine, ref = _dtype_name(actual, a), _dtype_name(expected, e)
    if type(expected) is float:
        eps = _eps(actual, a)
        if eps is None or eps <= max(rtol, _F64_EPS):  # float64 holds whatever a Python float does
            return None
        return (f"A {mine} number holds about {round(-np.log10(eps))} significant digits, fewer than this check "
                f"asks for (rtol={rtol:g}): return it at the precision of the inputs, e.g. as a Python float.")
    if mine == ref:
        return None
    hint = ""
    if a.dtype.kind == "f" and a.dtype.itemsize > e.dtype.itemsize:
        hint = (" Look for an array made without dtype= (np.zeros, np.ones, np.array of Python floats) or a "
                "float64 array in the computation, which promote the result: make arrays with dtype=x.dtype.")
    elif a.dtype.kind == "f":
        hint = f" Your result lost precision: compute in {ref}."
    return (f"A floating-point result must have the reference's dtype, {ref}, and yours is {mine} "
            f"(float32 in, float32 out; float64 in, float64 out).{hint}")


_F64_EPS = float(np.finfo(np.float64).eps)


def _dtype_name(value: Any, arr: np.ndarray) -> str:
    """The dtype as the student wrote it: a tensor's own (bfloat16 compares as float32 in numpy)."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        return str(value.dtype).removeprefix("torch.")
    return arr.dtype.name


def _eps(value: Any, arr: np.ndarray) -> float | None:
    """The machine epsilon of a floating-point value's dtype (None for integers and the like)."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        return torch.finfo(value.dtype).eps if value.is_floating_point() else None
    return float(np.finfo(arr.dtype).eps) if arr.dtype.kind == "f" else None


def _error_sizes(diff: np.ndarray, scale: np.ndarray) -> str:
    """The largest absolute and relative errors of the mismatches; a relative error means nothing
    where the expected value is 0 (it would read 1e+300), so it is left out there."""
    text = f"Largest absolute error {diff.max():.3g}"
    nonzero = scale > 0
    if not nonzero.any():
        return text + " (the expected values there are 0, where only the absolute error means something)."
    rel = (diff[nonzero] / scale[nonzero]).max()
    if nonzero.all():
        return text + f", largest relative error {rel:.3g}."
    return text + f"; largest relative error {rel:.3g} where the expected value is not 0."


_NAMED_PARTS = re.compile(r"\(([\w.'\[\]]+(?:, [\w.'\[\]]+)+)\)")


def _element(what: str, i: int, n: int) -> str:
    """How a message names element ``i`` of an ``n``-tuple described by ``what``."""
    for group in _NAMED_PARTS.finditer(what):
        names = group.group(1).split(", ")
        if len(names) == n:
            return what[:group.start()] + names[i] + what[group.end():]
    return f"{what}[{i}]"


def assert_shape(actual: Any, shape: tuple, what: str = "result") -> None:
    a, desc = _to_numpy(actual, what)
    if a.shape != tuple(shape):
        raise AssertionError(f"{what}: yours has shape {a.shape}, expected {tuple(shape)}")


def call_pure(fn: Remote, *args, **kwargs) -> Any:
    """Call ``fn`` and check it neither mutated its inputs nor returned views of them."""
    seen: Inspection = fn.inspect(*args, **kwargs)
    for i, (before, after) in enumerate(zip(args, seen.args_after)):
        try:
            b, _ = _to_numpy(before, "argument")
            a, _ = _to_numpy(after, "argument")
        except BadReturn:
            continue
        if b.shape != a.shape or not np.array_equal(b, a, equal_nan=True):
            raise AssertionError(
                f"{fn.dotted} changed its argument #{i + 1} in place. Work on a copy "
                "(e.g. `x = x.copy()`, or `np.maximum(x, 0)` instead of `x[x < 0] = 0`)."
            )
    if seen.aliases:
        raise AssertionError(
            f"{fn.dotted} returned {', '.join('result' + p for p in seen.aliases)} sharing memory with an input; "
            "return a new array (the caller may change the input later)."
        )
    return seen.value


def assert_no_warnings(proxy) -> None:
    """Fail if a call of the student's code in this test so far raised a warning (an overflow in
    np.exp, a division by zero, ``warnings.warn``). Only for functions whose docstring forbids
    warnings: elsewhere a warning costs nothing. Put it after the value checks::

        out, _ = submission.sigmoid_forward(x)
        assert_close(out, reference.sigmoid_forward(x)[0])
        assert_no_warnings(submission)
    """
    for record in proxy.calls:
        if record.warnings:
            first = record.warnings[0]
            where = f" ({first['where']})" if first.get("where") else ""
            more = len(record.warnings) - 1
            others = f", and {more} other warning{'s' if more > 1 else ''}" if more else ""
            raise AssertionError(
                f"{_who(record.target, record.args)} raised {first.get('category', 'Warning')}: "
                f"{first.get('message', '')}{where}{others}. The docstring asks for code that raises no "
                "warnings (a RuntimeWarning from numpy means an overflow, a division by zero or an invalid "
                "value on the way, even where the result came out right).")


def rel_error(x: Any, y: Any) -> float:
    """CS231n's relative error: max |x - y| / max(1e-8, |x| + |y|)."""
    a, _ = _to_numpy(x, "x")
    b, _ = _to_numpy(y, "y")
    return float(np.max(np.abs(a - b) / np.maximum(1e-8, np.abs(a) + np.abs(b))))


class batched:
    """A function of one array that runs the student's code, many inputs per round trip.

    ``batched(submission.affine_forward, lambda v: (v, w, b), out=0)`` is
    ``lambda v: submission.affine_forward(v, w, b)[0]``, except that
    ``numeric_gradient`` sends all its perturbed inputs in one message. The
    inputs are built here, in the judge; the worker only evaluates them.
    """

    def __init__(self, fn: Remote, make_args: Callable[[Any], tuple], out: int | None = None,
                 base: tuple | None = None) -> None:
        self.fn, self.make_args, self.out = fn, make_args, out
        self.base = base  # the unperturbed arguments, when each point changes a different one

    def __call__(self, v: Any) -> Any:
        return self.many([v])[0]

    def many(self, values: list) -> list:
        return self.many_along(values)[1]

    def many_along(self, values: list, along: tuple | None = None) -> tuple[Any, list]:
        """``many(values)``, and in the same round trip one more probe call ``along``
        (a probe's name and its arguments): (that call's result or None, the results)."""
        probes = self.fn._proxy.library("autograder.probes")
        points = [tuple(self.make_args(v)) for v in values]
        # Send the first point's arguments once, and for each point only what differs from
        # them: a few changed elements of one array (a numerical gradient's steps), or else
        # the parts that differ. The message shrinks by the fixed arguments and the copies.
        template = tuple(self.base) if self.base is not None else points[0]
        sparse = _sparse_changes(template, points)
        if sparse is not None:
            batch = ("evaluate_sparse", (self.fn, template, *sparse, self.out))
        else:
            batch = ("evaluate_patched", (self.fn, template, [_differences(template, p) for p in points], self.out))
        if along is None:
            first, results = None, getattr(probes, batch[0])(*batch[1])
        else:
            first, results = probes.several([along, batch])
        if _is_array_like(results) and getattr(results, "ndim", 0) >= 1:
            results = list(results)  # stacked by the probe: one buffer instead of one per point
        if not isinstance(results, list) or len(results) != len(values):
            raise BadReturn(f"{self.fn.dotted}: expected {len(values)} results from a batch, got {type(results).__name__}")
        return first, results


class SmoothFunction:
    """A function to hand to a student's numerical-gradient code, with coefficients from the test's rng::

        f(x) = sum(a * sin(b * x + c)) + sum(d * x**3) + (u . x)**2

    The worker builds it from the coefficients (``in_worker``); the judge knows its exact
    gradient and the exact centered differences for any step. Fixed functions such as
    sum(x**2) can be recognised by a submission and answered with a gradient known in
    advance; these cannot. The coupling term (u . x)**2 makes every element's derivative
    depend on all of x, so code that leaves x perturbed gets the later elements wrong,
    and the x**3 term makes the centered quotient depend on the step (by d * h**2).
    """

    def __init__(self, rng: np.random.Generator, shape: tuple) -> None:
        def signed(low, high):
            return rng.uniform(low, high, size=shape) * rng.choice([-1.0, 1.0], size=shape)

        # |b| <= 1 keeps the sine's part of the step's effect below the cube's (d * h**2).
        self.a, self.b, self.d, self.u = signed(0.5, 1.5), signed(0.5, 1.0), signed(0.5, 1.5), signed(0.5, 1.5)
        self.c = rng.uniform(-np.pi, np.pi, size=shape)

    def in_worker(self, proxy) -> Handle:
        """The function, built in the student's worker (it stays there, as a handle)."""
        return proxy.library("autograder.probes").smooth_function(self.a, self.b, self.c, self.d, self.u)

    def gradient(self, x: np.ndarray) -> np.ndarray:
        return self.a * self.b * np.cos(self.b * x + self.c) + 3 * self.d * x ** 2 + 2 * self.u * np.sum(self.u * x)

    def centered(self, x: np.ndarray, h: float) -> np.ndarray:
        """(f(x + h e_i) - f(x - h e_i)) / (2h) for every element i, exactly (not in floating point)."""
        sine = self.a * np.cos(self.b * x + self.c) * np.sin(self.b * h) / h
        return sine + self.d * (3 * x ** 2 + h ** 2) + 2 * self.u * np.sum(self.u * x)


def forward_backward(forward: Remote, backward: Remote, args: tuple, dout: Any) -> tuple[Any, Any]:
    """``out, cache = forward(*args); grads = backward(dout, cache)``, in one round trip.

    Returns ``out, grads``. The cache stays in the worker: the student's backward
    gets the student's own cache, whatever its format::

        out, dx = forward_backward(submission.relu_forward, submission.relu_backward, (x,), dout)
    """
    probes = forward._proxy.library("autograder.probes")
    return _paired(forward, probes.forward_backward(forward, backward, tuple(args), dout))


def forward_backward_numeric(forward: Remote, backward: Remote, args: tuple, dout: Any, wrt: list | None = None,
                             h: float = 1e-5) -> tuple[Any, Any, list[np.ndarray]]:
    """``forward_backward`` and the numerical gradients of ``sum(forward(*args)[0] * dout)``,
    all in one round trip: ``out, grads, numeric``. ``numeric`` has one gradient per
    entry of ``wrt`` (as in ``numeric_gradients``; by default every floating-point
    array argument), to compare with the student's ``grads``::

        _, (dx, dw, db), (num_dx, num_dw, num_db) = forward_backward_numeric(
            submission.affine_forward, submission.affine_backward, (x, w, b), dout)
    """
    args = tuple(args)
    paths, bases = _wrt_parts(args, wrt)
    result, outputs = _centered_outputs(forward, args, paths, bases, h, out=0,
                                        along=("forward_backward", (forward, backward, args, dout)))
    out, grads = _paired(forward, result)
    _note_reference(forward)
    return out, grads, [_centered_gradient(base.shape, values, dout, h) for base, values in zip(bases, outputs)]


def _paired(forward: Remote, result: Any) -> tuple[Any, Any]:
    """(out, grads) from probes.forward_backward's (paired, out, grads)."""
    if not (isinstance(result, tuple) and len(result) == 3):
        raise BadReturn(f"{forward.dotted}: the grader got {type(result).__name__} back from forward_backward")
    paired, out, grads = result
    if not paired:
        got = "None" if out is None else type(out).__name__
        if isinstance(out, tuple):
            got += f" of {len(out)} values"
        raise BadReturn(f"{forward.dotted} must return a pair (out, cache), got {got}")
    return out, grads


def together(*calls: tuple) -> list:
    """Several calls of the student's functions in one round trip, run in order:
    ``together((submission.sigmoid_forward, x), (submission.relu_forward, y))`` is
    ``[submission.sigmoid_forward(x), submission.relu_forward(y)]``. The first call that
    raises stops the others, and the test fails as it would on that call alone."""
    if not calls:
        return []
    probes = calls[0][0]._proxy.library("autograder.probes")
    results = probes.several([("call", tuple(call)) for call in calls])
    if not isinstance(results, list) or len(results) != len(calls):
        raise BadReturn(f"expected {len(calls)} results from together(), got {type(results).__name__}")
    return results


_SPARSE_MAX = 4  # changed elements per point beyond which whole arrays are sent


def _sparse_changes(template: tuple, points: list) -> tuple | None:
    """(paths, parts, counts, indices, values) when every point differs from the template
    only in a few elements of one array or tensor (``paths[parts[k]]`` for point k);
    None otherwise."""
    paths: list[list] = []
    bases: list[tuple[Any, np.ndarray]] = []  # (part, its values) per path
    parts, counts, indices, values = [], [], [], []
    for point in points:
        diffs = _differences(template, point)
        if not diffs:
            parts.append(0)
            counts.append(0)
            continue
        if len(diffs) != 1 or not diffs[0][0]:
            return None
        where, value = diffs[0]
        if where not in paths:
            part = _at(template, where)
            base = _numpy_of(part)
            if base is None:
                return None
            paths.append(where)
            bases.append((part, base))
        k = paths.index(where)
        part, base = bases[k]
        if type(value) is not type(part) or getattr(value, "device", None) != getattr(part, "device", None):
            return None
        new = _numpy_of(value)
        if new is None or new.shape != base.shape or new.dtype != base.dtype:
            return None
        new, flat = new.reshape(-1), base.reshape(-1)
        differs = new != flat
        if new.dtype.kind == "f":  # -0.0 == 0.0, so compare signs too (nan != nan only resends a nan)
            differs |= np.signbit(new) != np.signbit(flat)
        changed = np.flatnonzero(differs)
        if len(changed) > _SPARSE_MAX:
            return None
        parts.append(k)
        counts.append(len(changed))
        indices.append(changed)
        values.append(new[changed])
    if not paths:
        return None
    # One array of values needs one dtype: points that change parts of different dtypes go whole.
    if len({v.dtype for v in values}) > 1:
        return None
    return (paths, np.asarray(parts, dtype=np.int64), np.asarray(counts, dtype=np.int64),
            np.concatenate(indices), np.concatenate(values))


def _numpy_of(value: Any) -> np.ndarray | None:
    """An ndarray, or a torch tensor's values as one (None for anything else)."""
    if isinstance(value, np.ndarray):
        return value
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(value, torch.Tensor):
        try:
            return value.detach().cpu().numpy()
        except (TypeError, RuntimeError):  # bfloat16 and the like: send whole tensors
            return None
    return None


def _is_array_like(value: Any) -> bool:
    torch = sys.modules.get("torch")
    return isinstance(value, np.ndarray) or (torch is not None and isinstance(value, torch.Tensor))


def _differences(template: Any, value: Any, path: tuple = ()) -> list:
    """(path, part) pairs where ``value`` is not (by identity) the template's part at that path.

    Nested sub-containers are patched in place in the worker, so tuples are
    compared element-wise like lists.
    """
    if value is template:
        return []
    if isinstance(value, (tuple, list)) and isinstance(template, (tuple, list)) and len(value) == len(template):
        return [d for i, (t, v) in enumerate(zip(template, value)) for d in _differences(t, v, path + (i,))]
    if isinstance(value, dict) and isinstance(template, dict) and value.keys() == template.keys():
        return [d for k in value for d in _differences(template[k], value[k], path + (k,))]
    return [(list(path), value)]


def numeric_gradient(f: Callable[[np.ndarray], Any], x: np.ndarray, df: Any = None, h: float = 1e-5) -> np.ndarray:
    """Centered-difference gradient of sum(f(x) * df) with respect to x (judge-side oracle).

    ``f`` is any function of one array; a ``batched`` one is evaluated in a single round trip,
    or, when grading, on the reference's function in the judge. A plain function must not
    call the student's code when grading (an ``AuthoringError``): wrap such a call in ``batched``.
    """
    x = np.array(x, dtype=np.float64)
    points = _centered_points(x, h)
    if isinstance(f, batched):
        values = _on_reference(f.fn, f.make_args, points, f.out)
        values = f.many(points) if values is None else values
        _note_reference(f.fn)
    else:
        # A plain function cannot be moved to the reference: when grading, it must not reach
        # the student's code (the proxy refuses calls while this is set).
        token = differentiating.set(True)
        try:
            values = [f(p) for p in points]
        finally:
            differentiating.reset(token)
    return _centered_gradient(x.shape, values, df, h)


def numeric_gradients(fn: Remote, args: tuple, df: Any = None, h: float = 1e-5, out: int | None = None,
                      wrt: list | None = None) -> list[np.ndarray]:
    """Centered-difference gradients of sum(fn(*args)[out] * df), one per argument in ``wrt``.

    ``wrt`` lists where the arrays are: an argument's index, or a path of
    indices and keys into it (``(1, "W1")`` for ``params["W1"]`` of the second
    argument); by default, every floating-point array argument. All the
    perturbed calls travel in one round trip::

        dx, dw, db = numeric_gradients(submission.affine_forward, (x, w, b), dout, out=0)
    """
    args = tuple(args)
    paths, bases = _wrt_parts(args, wrt)
    _, outputs = _centered_outputs(fn, args, paths, bases, h, out)
    _note_reference(fn)
    return [_centered_gradient(base.shape, values, df, h) for base, values in zip(bases, outputs)]


def _wrt_parts(args: tuple, wrt: list | None) -> tuple[list[tuple], list[np.ndarray]]:
    """The paths of ``wrt`` (indices, or paths of indices and keys) and their values in float64;
    by default every floating-point array argument."""
    if wrt is None:
        wrt = [i for i, a in enumerate(args) if isinstance(a, np.ndarray) and a.dtype.kind == "f"]
    paths = [tuple(p) if isinstance(p, (tuple, list)) else (p,) for p in wrt]
    return paths, [np.array(_at(args, path), dtype=np.float64) for path in paths]


def _centered_outputs(fn: Remote, args: tuple, paths: list[tuple], bases: list[np.ndarray], h: float,
                      out: int | None = None, as_arg: Callable[[np.ndarray, Any], Any] = lambda v, part: v,
                      along: tuple | None = None) -> tuple[Any, list[list]]:
    """Per part (at ``paths[k]`` of ``args``, its values ``bases[k]`` in float64), ``fn``'s outputs
    at the part's centered points, all parts in one batch. ``as_arg(v, part)`` turns a
    perturbed value into what the argument should be (a tensor like ``part``, say).
    ``along`` is one more probe call for the same round trip: (its result, the outputs).
    When grading, the points are evaluated on the reference, in the judge, and the
    worker runs only ``along``."""
    points = [(k, v) for k, base in enumerate(bases) for v in _centered_points(base, h)]

    def make_args(point):
        k, v = point
        return _replaced(args, paths[k], as_arg(v, _at(args, paths[k])))

    values = _on_reference(fn, make_args, points, out)
    if values is None and points:
        first, values = batched(fn, make_args, out=out, base=args).many_along(points, along)
    else:  # the reference's values, or nothing to perturb: only the other call, if any
        probes = fn._proxy.library("autograder.probes")
        first, values = (getattr(probes, along[0])(*along[1]) if along else None), values or []
    outputs, start = [], 0
    for base in bases:
        outputs.append(values[start : start + 2 * base.size])
        start += 2 * base.size
    return first, outputs


def _on_reference(fn: Remote, make_args: Callable[[Any], tuple], points: list, out: int | None) -> list | None:
    """When grading, ``fn(*make_args(p))[out]`` for every point, with ``fn``'s counterpart in the
    reference solution, evaluated here in the judge; None under `autograder check`, which has
    no reference (the student's own code is differentiated there, in the worker).

    No point may rest on the student's code agreeing with itself (a backward against finite
    differences of the student's own forward): an identity "sigmoid" or an all-zero layer
    agrees with itself, and so does whatever a patched probe in the worker reports.
    """
    from .mistakes import _copy, _substitute, counterpart

    loader = fn._proxy.reference_loader
    if loader is None:
        return None
    namespace = loader()
    try:
        trusted = counterpart(fn, namespace)
    except (LookupError, AttributeError) as exc:
        raise AuthoringError(f"cannot differentiate {fn.dotted} on the reference: {exc}") from None
    torch = sys.modules.get("torch")
    values = []
    with torch.no_grad() if torch is not None else contextlib.nullcontext():
        for point in points:
            args = make_args(point)
            if _from_worker(args, fn._proxy):
                raise AuthoringError(f"the arguments of {fn.dotted} to differentiate hold an object the "
                                     "student's code returned; the reference cannot be run on it")
            result = trusted(*_copy(_substitute(args, {}, namespace)))
            values.append(result[out] if out is not None else result)
    return values


def _from_worker(value: Any, proxy) -> bool:
    """Whether ``value`` holds an object the student's code returned (a handle, or a tuple that
    travels back by reference, such as a cache)."""
    if isinstance(value, Handle) or id(value) in proxy._sent_back:
        return True
    if type(value) in (tuple, list):
        return any(_from_worker(v, proxy) for v in value)
    if type(value) is dict:
        return any(_from_worker(v, proxy) for v in value.values())
    return False


def _note_reference(fn: Remote) -> None:
    """Tell the student, should the test fail, what the numerical gradients were taken of."""
    proxy = fn._proxy
    note = (f"(The numerical gradients in this test are those of the reference solution's {fn.dotted}: "
            "when grading, your gradients are checked against the reference's, not against your own forward.)")
    if proxy.reference_loader is not None and note not in proxy.notes:
        proxy.notes.append(note)


def _centered_points(x: np.ndarray, h: float) -> list[np.ndarray]:
    """x + h and x - h along each element in turn (x must be a float64 array)."""
    points = []
    for i in np.ndindex(x.shape):
        for step in (h, -h):
            shifted = x.copy()
            shifted[i] += step
            points.append(shifted)
    return points


def _centered_gradient(shape: tuple, values: list, df: Any, h: float) -> np.ndarray:
    weight = 1.0 if df is None else np.asarray(df, dtype=np.float64)
    grad = np.zeros(shape)
    for k, i in enumerate(np.ndindex(shape)):
        plus, _ = _to_numpy(values[2 * k], "f(x + h)")
        minus, _ = _to_numpy(values[2 * k + 1], "f(x - h)")
        grad[i] = np.sum((plus.astype(np.float64) - minus.astype(np.float64)) * weight) / (2 * h)
    return grad


def _at(value: Any, path: tuple) -> Any:
    for key in path:
        value = value[key]
    return value


def _replaced(value: Any, path: tuple, new: Any) -> Any:
    """``value`` with the part at ``path`` replaced; every other part is the same object."""
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _replaced(value[head], rest, new)}
    items = list(value)
    items[head] = _replaced(items[head], rest, new)
    return type(value)(items) if type(value) in (tuple, list) else tuple(items)


def gradcheck(fn: Remote, inputs: tuple, eps: float = 1e-6, atol: float = 1e-5, rtol: float = 1e-3,
              expected: Any = None) -> None:
    """torch.autograd.gradcheck for a function of the student's.

    The analytic Jacobian comes from the student's backward (one pass per
    output element, in the worker). The numerical one comes from perturbing
    the inputs: when grading, of the reference's ``fn``, evaluated in the
    judge; under `autograder check`, which has no reference, of the student's
    forward. Use small float64 inputs. With ``expected``, the forward's output
    ``fn(*inputs)`` is first compared with it (``assert_close``), in the same
    round trip.
    """
    import torch

    inputs = tuple(inputs)
    wrt = [i for i, x in enumerate(inputs) if isinstance(x, torch.Tensor) and x.is_floating_point()]
    along = ("jacobian", (fn, inputs))
    if expected is not None:
        along = ("several", ([("call", (fn, *inputs)), along],))
    # The analytic Jacobian and every input's perturbations: one round trip for the whole check.
    analytic, outputs = _centered_outputs(
        fn, inputs, [(i,) for i in wrt], [inputs[i].detach().cpu().double().numpy() for i in wrt], eps,
        as_arg=lambda v, like: torch.as_tensor(v).to(dtype=like.dtype, device=like.device), along=along)
    if expected is not None:
        out, analytic = analytic
        assert_close(out, expected, what=f"{fn.dotted} forward")
    flat = lambda v: _to_numpy(v, f"{fn.dotted} output")[0].astype(np.float64).reshape(-1)  # noqa: E731
    for i, mine in zip(wrt, outputs):
        numerical = np.stack([(flat(mine[2 * k]) - flat(mine[2 * k + 1])) / (2 * eps)
                              for k in range(inputs[i].numel())], axis=1)
        got = analytic[i] if isinstance(analytic, tuple) and i < len(analytic) else None
        if got is None:
            raise AssertionError(f"{fn.dotted}: backward returned no gradient for input #{i + 1}")
        got = _to_numpy(got, f"the Jacobian of {fn.dotted} w.r.t. input #{i + 1}")[0].astype(np.float64)
        if got.shape != numerical.shape:
            raise AssertionError(f"{fn.dotted}: the Jacobian w.r.t. input #{i + 1} that your backward gives has shape "
                                 f"{got.shape}, expected {numerical.shape} (output elements x input elements)")
        try:
            assert_close(got, numerical, rtol=rtol, atol=atol, what=f"Jacobian of {fn.dotted} w.r.t. input #{i + 1}")
        except AssertionError as exc:
            whose = "your forward" if fn._proxy.reference_loader is None else f"the reference solution's {fn.dotted}"
            raise AssertionError(
                f"gradcheck failed: your backward does not match finite differences of {whose}.\n{exc}"
            ) from None
