"""The catalogue of known mistakes, and naming them in feedback.

An exercise's ``mistakes.py`` holds small wrong variants of its reference::

    @mistake("affine_backward", "db not summed over the batch",
             hint="db must have shape (M,): sum dout over the batch axis.")
    def affine_backward(dout, cache):
        ...

The target is a name in the primary module, or ``module.Name`` for another
one. The variant runs in a copy of the reference module where the target is
replaced, so functions that call the target (a two-layer net calling
``affine_backward``) inherit the mistake too.

When a test fails, ``diagnose`` replays the test's recorded calls on each
variant and names the mistakes whose outputs match the student's where the
reference's do not. All of this runs in the judge, on trusted code.
"""
from __future__ import annotations

import functools
import importlib.util
import sys
import types
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from .helpers import PACKAGE as HELPERS_PACKAGE

_REGISTRY: list["Mistake"] = []


@dataclass(frozen=True)
class Mistake:
    target: str
    name: str
    hint: str
    variant: Any  # the function or class that replaces the target

    @property
    def module(self) -> str | None:
        return self.target.split(".", 1)[0] if "." in self.target else None

    @property
    def attr(self) -> str:
        return self.target.split(".", 1)[1] if "." in self.target else self.target


def mistake(target: str, name: str, hint: str = "") -> Callable:
    """Register the decorated function (or class) as a wrong variant of ``target``."""

    def register(obj):
        _REGISTRY.append(Mistake(target=target, name=name, hint=hint, variant=obj))
        return obj

    return register


def load_catalogue(path: Path) -> list[Mistake]:
    """Import an exercise's mistakes.py and return its mistakes in file order."""
    if not Path(path).is_file():
        return []
    start = len(_REGISTRY)
    spec = importlib.util.spec_from_file_location(f"_mistakes_{abs(hash(str(path)))}", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # inspect.getsource finds classes through sys.modules
    spec.loader.exec_module(module)
    found = _REGISTRY[start:]
    del _REGISTRY[start:]
    return found


def variant_namespace(reference: "ReferenceNamespace", m: Mistake) -> "ReferenceNamespace":
    """A copy of the reference in which ``m.target`` is replaced by the variant."""
    module_name = m.module if m.module in reference.modules else reference.primary
    copies = {name: _copy_module(mod) for name, mod in reference.modules.items()}
    target_mod = copies[module_name]
    attr = m.attr if m.module in reference.modules else m.target
    replacement = _rebind(m.variant, target_mod.__dict__)
    setattr(target_mod, attr, replacement)
    # Modules that imported the target by name (``from backprop import f``) see the variant too.
    for mod in copies.values():
        for key, val in list(vars(mod).items()):
            if val is getattr(reference.modules[module_name], attr, None):
                setattr(mod, key, replacement)
            elif isinstance(val, types.ModuleType) and val.__name__ in copies:
                setattr(mod, key, copies[val.__name__])
    return ReferenceNamespace(copies, reference.primary)


def _copy_module(module: types.ModuleType) -> types.ModuleType:
    clone = types.ModuleType(module.__name__)
    clone.__dict__.update(module.__dict__)
    for key, val in list(clone.__dict__.items()):
        if isinstance(val, types.FunctionType) and val.__module__ == module.__name__:
            clone.__dict__[key] = _rebind(val, clone.__dict__)
    return clone


def _rebind(obj: Any, namespace: dict) -> Any:
    """The same function, or class, with its globals looked up in ``namespace``."""
    if isinstance(obj, types.FunctionType):
        fn = types.FunctionType(obj.__code__, namespace, obj.__name__, obj.__defaults__, obj.__closure__)
        fn.__kwdefaults__ = obj.__kwdefaults__
        fn.__dict__.update(obj.__dict__)
        return fn
    if isinstance(obj, type):
        # A subclass whose methods are rebound: their zero-argument super() still names the
        # variant class, whose parent is exactly what super() meant there.
        methods = {}
        for key, val in vars(obj).items():
            if isinstance(val, types.FunctionType):
                methods[key] = _rebind(val, namespace)
            elif isinstance(val, (staticmethod, classmethod)) and isinstance(val.__func__, types.FunctionType):
                methods[key] = type(val)(_rebind(val.__func__, namespace))
        if not methods:
            return obj
        return type(obj)(obj.__name__, (obj,), {**methods, "__module__": obj.__module__,
                                                 "__qualname__": obj.__qualname__})
    return obj


class ReferenceNamespace:
    """The ``reference`` fixture: the reference modules, imported in the judge.

    ``reference.affine_forward`` reaches the primary module,
    ``reference.backprop_torch.SigmoidFunction`` another one.
    """

    def __init__(self, modules: dict[str, types.ModuleType], primary: str) -> None:
        self.modules = modules
        self.primary = primary

    def __getattr__(self, name: str) -> Any:
        modules = self.__dict__.get("modules", {})
        if name in modules and name != self.__dict__.get("primary"):  # softmax.py may define softmax()
            return modules[name]
        if name.startswith("__"):
            raise AttributeError(name)
        return getattr(modules[self.__dict__["primary"]], name)

    @classmethod
    def load(cls, folder: Path, names: list[str]) -> "ReferenceNamespace":
        """Import the reference modules from ``folder`` under private names."""
        folder = Path(folder)
        modules: dict[str, types.ModuleType] = {}
        saved = {n: sys.modules.get(n) for n in names}
        sys.path.insert(0, str(folder))
        try:
            for name in names:
                sys.modules.pop(name, None)
            for name in names:
                path = folder / f"{name}.py"
                spec = importlib.util.spec_from_file_location(name, path)
                module = importlib.util.module_from_spec(spec)
                sys.modules[name] = module  # so sibling modules can import it by name
                spec.loader.exec_module(module)
                modules[name] = module
        finally:
            sys.path.remove(str(folder))
            for name, old in saved.items():
                if old is None:
                    sys.modules.pop(name, None)
                else:
                    sys.modules[name] = old
        return cls(modules, names[0])


# ------------------------------------------------------------------ diagnosis


MATCH_RTOL = 1e-5  # the student's output must be this close to the variant's...
CLOSER = 100.0  # ...and this many times closer to it than to the reference's
OFF_GAP = 1e-3  # a call this far off the reference (relative to its largest value) shows a mistake


def diagnose(calls: list, reference: ReferenceNamespace, catalogue: list[Mistake]) -> list[Mistake]:
    """The catalogued mistakes that explain the student's recorded outputs.

    A mistake is named when, for some call of the test, the student's output
    (with the arguments as the call left them, if the test inspected them) is
    within MATCH_RTOL of the variant's and CLOSER times closer to it than to
    the reference's: a fixed tolerance alone cannot tell apart variants that
    differ from the reference by little (a step size of 1e-3 instead of 1e-5).

    Only a name that the test's inputs prove is given:

    - a variant is contradicted, and not named, when another call of the test
      came out as the reference's where the variant's differs, or came out
      clearly off the reference's where the variant's does not (that call
      shows another mistake, which the variant does not explain);
    - two variants whose outputs are the same for every call of the test (a
      padding counted once and a missing + 1 with stride 1 and padding 1)
      cannot be told apart by it: it names neither;
    - what a call returned and the test passed back to a later call (a cache,
      a config) is the student's own business, laid out as they like: only
      what the later calls make of it is compared.
    """
    completed = [c for c in calls if c.error is None]
    if not completed or not catalogue:
        return []
    truth = _replay(completed, reference)
    plumbing = _passed_back(completed)
    seen = [_observed(call, plumbing) for call in completed]
    explained: list[tuple[Mistake, list]] = []
    for m in catalogue:
        try:
            variant = _replay(completed, variant_namespace(reference, m))
        except Exception:  # noqa: BLE001 - a variant may legitimately crash on other inputs
            continue
        matched = contradicted = False
        for observed, want, wrong in zip(seen, truth, variant):
            to_variant, to_reference = _distances(observed, wrong, want, plumbing)
            if to_variant <= MATCH_RTOL and to_reference > 0 and to_variant * CLOSER <= to_reference:
                matched = True
            elif to_reference <= MATCH_RTOL and to_variant > 0 and to_reference * CLOSER <= to_variant:
                contradicted = True  # the student did what the reference does, the variant does not
            elif _same_outputs([wrong], [want], [observed], plumbing) and _off(observed, want, plumbing):
                contradicted = True  # the variant changes nothing here, yet the student is off: another mistake
            if contradicted:
                break
        if matched and not contradicted:
            explained.append((m, variant))
    return [m for m, outputs in explained
            if not any(other is not outputs and _same_outputs(outputs, other, seen, plumbing)
                       for _, other in explained)]


def _same_outputs(one: list, other: list, seen: list, opaque: set[int]) -> bool:
    """Whether two replays of a test's calls came out the same, call by call, in every part that
    is compared with the student's (``seen``)."""
    for a, b, student in zip(one, other, seen):
        if (a is _FAILED) != (b is _FAILED):
            return False
        if a is _FAILED:
            continue
        differ, _ = _walk(_mask(student, a, opaque), b, b, opaque=set())
        if differ is not None and differ > MATCH_RTOL:
            return False
    return True


def _off(student: Any, reference: Any, opaque: set[int]) -> bool:
    """Whether the student's output is clearly off the reference's (more than float32 rounding)."""
    _, gap = _walk(student, reference, reference, opaque, leaf=functools.partial(_leaf, whole=True))
    return gap is not None and gap > OFF_GAP


def _mask(student: Any, value: Any, opaque: set[int]) -> Any:
    """``value`` with the parts that are opaque in the student's parallel output left out."""
    if id(student) in opaque:
        return _FAILED
    if isinstance(student, (tuple, list)) and isinstance(value, (tuple, list)) and len(student) == len(value):
        return type(value)(_mask(s, v, opaque) for s, v in zip(student, value))
    if isinstance(student, dict) and isinstance(value, dict) and set(student) == set(value):
        return {k: _mask(student[k], value[k], opaque) for k in value}
    return value


def _passed_back(calls: list) -> set[int]:
    """The ids of the parts of calls' results that a later call of the test got as an argument."""
    produced: set[int] = set()
    passed: set[int] = set()
    for call in calls:
        for part in _parts((call.args, call.kwargs)):
            if id(part) in produced:
                passed.add(id(part))
        produced.update(id(part) for part in _parts(call.value))
    return passed


def _parts(value: Any):
    """``value`` and everything inside its tuples, lists and dicts."""
    yield value
    if isinstance(value, (tuple, list)):
        for v in value:
            yield from _parts(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _parts(v)


def _observed(call, plumbing: set[int] = frozenset()) -> Any:
    """What the student's call produced: its value, and its arguments after it when inspected
    (except those that were an earlier call's result: a cache is the student's own layout)."""
    if getattr(call, "args_after", None) is None:
        return call.value
    after = [_FAILED if id(before) in plumbing else arg for before, arg in zip(call.args, call.args_after)]
    return (call.value, after + list(call.args_after[len(after):]))


_FAILED = object()


def _replay(calls: list, namespace: ReferenceNamespace) -> list:
    """Re-run the calls on ``namespace``; objects passed back are mapped to the replay's own."""
    results = []
    mapping: dict[int, Any] = {}
    for call in calls:
        try:
            fn = _resolve(namespace, call.path)
            args = _copy(_substitute(call.args, mapping, namespace))
            kwargs = _substitute(call.kwargs, mapping, namespace)
            out = fn(*args, **_copy(kwargs))
        except Exception:  # noqa: BLE001 - a call the variant cannot replay explains nothing
            out = args = _FAILED
        _link(call.value, out, mapping)
        if out is not _FAILED and getattr(call, "args_after", None) is not None:
            out = (out, args)
        results.append(out)
    return results


def _resolve(namespace: ReferenceNamespace, path: str) -> Any:
    if path.startswith("autograder.probes."):
        module, _, name = path.rpartition(".")
        return getattr(importlib.import_module(module), name)
    if path.startswith(HELPERS_PACKAGE + "."):  # the exercise's worker helpers: the judge's copy
        package, module, *rest = path.split(".")
        obj = importlib.import_module(f"{package}.{module}")
        for part in rest:
            obj = getattr(obj, part)
        return obj
    head, *rest = path.split(".")
    obj = getattr(namespace, head)
    for part in rest:
        obj = getattr(obj, part)
    return obj


def _link(student: Any, replayed: Any, mapping: dict) -> None:
    if isinstance(student, tuple) and isinstance(replayed, tuple) and len(student) == len(replayed):
        mapping[id(student)] = replayed
        for s, r in zip(student, replayed):
            _link(s, r, mapping)
    elif student is not None and not isinstance(student, (int, float, str, bool)):
        mapping[id(student)] = replayed


def _substitute(value: Any, mapping: dict, namespace: ReferenceNamespace) -> Any:
    from .proxy import Remote

    if id(value) in mapping:
        return mapping[id(value)]
    if isinstance(value, Remote):
        # A student function passed as an argument (e.g. to submission.vjp): use the namespace's.
        return counterpart(value, namespace)
    if isinstance(value, tuple):
        return tuple(_substitute(v, mapping, namespace) for v in value)
    if isinstance(value, list):
        return [_substitute(v, mapping, namespace) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, mapping, namespace) for k, v in value.items()}
    return value


def counterpart(remote: Any, namespace: ReferenceNamespace) -> Any:
    """What a ``Remote`` names, found in ``namespace`` (the reference or a variant) instead of the
    student's worker: ``module:backprop`` + ``.sigmoid_forward`` is the namespace's
    ``sigmoid_forward``; a library (``import:numpy``) is the judge's own. An object that lived
    only in the worker (a handle, a result) has none: LookupError."""
    kind, _, name = remote._root.partition(":")
    if kind == "import":
        from .helpers import is_helpers_module
        from .worker import _IMPORTABLE

        if name not in _IMPORTABLE and not name.startswith("autograder.probes.") and not is_helpers_module(name):
            raise LookupError(f"{remote.dotted} has no counterpart in the judge")
        obj = importlib.import_module(name)
    elif kind == "module":
        # The module itself, not namespace.<name>: softmax.py's softmax() shadows the module there.
        obj = namespace.modules[name] if name in namespace.modules else namespace
    else:
        raise LookupError(f"{remote.dotted} lived only in the student's worker")
    for op, arg in remote._path:
        obj = getattr(obj, arg) if op == "." else obj[arg]
    return obj


def _copy(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, tuple):
        return tuple(_copy(v) for v in value)
    if isinstance(value, list):
        return [_copy(v) for v in value]
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    try:
        import torch

        if isinstance(value, torch.Tensor):
            return value.detach().clone().requires_grad_(value.requires_grad)
    except ImportError:
        pass
    return value


def _distances(student: Any, variant: Any, reference: Any, opaque: set[int] = frozenset()) -> tuple[float, float]:
    """Largest relative differences of the student's output from the variant's and the reference's.

    The three are walked together. A part that compares with neither (a cache
    laid out differently from the reference's, a handle) is left out, and so
    is any part whose id is in ``opaque``. A part that compares with one side
    only (db of shape (N, M) where the reference has (M,)) is infinitely far
    from the other.
    """
    to_variant, to_reference = _walk(student, variant, reference, opaque)
    inf = float("inf")
    return (inf if to_variant is None else to_variant), (inf if to_reference is None else to_reference)


def _walk(student: Any, variant: Any, reference: Any, opaque: set[int],
          leaf: Callable = None) -> tuple[float | None, float | None]:
    """(distance to variant, distance to reference); None where no comparison is possible.
    ``leaf`` measures two leaves (default: the largest elementwise relative difference)."""
    leaf = leaf or _leaf
    if student is _FAILED or id(student) in opaque:
        return None, None
    if isinstance(student, (tuple, list, dict)):
        keys = list(student) if isinstance(student, dict) else list(range(len(student)))

        def like(other: Any) -> bool:
            if isinstance(student, dict):
                return isinstance(other, dict) and set(other) == set(student)
            return isinstance(other, (tuple, list)) and len(other) == len(student)

        sides = [other if like(other) else None for other in (variant, reference)]
        if sides == [None, None]:
            return None, None
        worst: list[float] = [0.0, 0.0]
        compared = False
        for key in keys:
            parts = _walk(student[key], *(side[key] if side is not None else _FAILED for side in sides),
                          opaque, leaf)
            if parts == (None, None):
                continue  # opaque to both: a cache, a handle
            compared = True
            worst = [max(w, float("inf") if p is None else p) for w, p in zip(worst, parts)]
        if not compared:
            return None, None
        return tuple(w if side is not None else None for w, side in zip(worst, sides))
    return leaf(student, variant), leaf(student, reference)


def _leaf(student: Any, other: Any, whole: bool = False) -> float | None:
    """The largest difference between two leaves, relative to each expected value, or with
    ``whole`` to the largest one (blind to float32 rounding of values near 0, so a large gap
    means a real difference); None where they cannot be compared."""
    if other is _FAILED:
        return None
    if isinstance(student, (str, bytes, type(None))) or isinstance(other, (str, bytes, type(None))):
        return 0.0 if type(student) is type(other) and student == other else None
    a, b = _as_array(student), _as_array(other)
    if a is None or b is None or a.shape != b.shape:
        return None
    if a.size == 0:
        return 0.0
    with np.errstate(invalid="ignore", over="ignore"):
        same = (a == b) | (np.isnan(a) & np.isnan(b))
        diff = np.where(same, 0.0, np.abs(a - b))
        if whole:
            finite = np.abs(b[np.isfinite(b)])
            scale = max(float(finite.max()) if finite.size else 0.0, 1e-8)
        else:
            scale = np.where(np.isfinite(b), np.maximum(np.abs(b), 1e-8), 1.0)
        worst = float(np.max(diff / scale))
    return worst if np.isfinite(worst) else float("inf")


def _as_array(value: Any) -> np.ndarray | None:
    if isinstance(value, np.ndarray) and value.dtype.kind in "biufc":
        return value.astype(np.float64) if value.dtype.kind != "c" else value
    if isinstance(value, (bool, int, float, np.generic)) and not isinstance(value, str):
        return np.asarray(value, dtype=np.float64)
    try:
        import torch

        if isinstance(value, torch.Tensor):
            return value.detach().cpu().double().numpy()
    except ImportError:
        pass
    return None


# ------------------------------------------------------------------ forms


def first_form_difference(calls: list, reference: ReferenceNamespace) -> tuple[Any, tuple, str, str] | None:
    """The outermost difference in form (see ``_form_differences``) between what the calls returned
    and what the reference returns for the same calls, in the latest call that has one:
    (the call, the path to the part in its value, that part described, the reference's described)."""
    found = []
    for order, (call, theirs) in enumerate(zip(calls, _replay(calls, reference))):
        if theirs is _FAILED:
            continue
        if call.args_after is not None:
            theirs = theirs[0]  # the replay pairs an inspected call's value with its arguments
        found += [(len(path), -order, call, path, mine, ref)
                  for path, mine, ref in _form_differences(call.value, theirs)]
    if not found:
        return None
    return min(found, key=lambda f: f[:2])[2:]


def _form_differences(student: Any, reference: Any, path: tuple = ()) -> list[tuple[tuple, str, str]]:
    """Where the student's value differs in form from the reference's: (path, the student's
    part described, the reference's part described) for each place, outermost first.

    The form is what a test needs to use a value: a number, a string, a sequence of so many
    values (tuple or list alike), a dict with these keys, an array or a tensor of this shape,
    or an object that stayed in the worker. Values and dtypes are not part of it.
    """
    if _form(student) != _form(reference):
        return [(path, describe(student), describe(reference))]
    if isinstance(student, (tuple, list)):
        parts = [(i, s, r) for i, (s, r) in enumerate(zip(student, reference))]
    elif isinstance(student, dict):
        parts = [(key, student[key], reference[key]) for key in student]
    else:
        return []
    inner = [d for key, s, r in parts for d in _form_differences(s, r, path + (key,))]
    return sorted(inner, key=lambda d: len(d[0]))


def _form(value: Any) -> tuple:
    torch = sys.modules.get("torch")
    if value is None:
        return ("None",)
    if isinstance(value, (str, bytes)):
        return ("str",)
    if isinstance(value, (tuple, list)):
        return ("sequence", len(value))
    if isinstance(value, dict):
        return ("dict", frozenset(value))
    if isinstance(value, np.ndarray) and value.ndim > 0:
        return ("array", value.shape)
    if torch is not None and isinstance(value, torch.Tensor):
        return ("tensor", tuple(value.shape))
    if isinstance(value, (bool, int, float, complex, np.generic, np.ndarray)):
        return ("number",)
    return ("object",)  # a handle to an object in the worker, or the reference's own object


def describe(value: Any) -> str:
    """A value's form in words, for a student: "a tuple of 3 values", "a str", "an array of shape (2, 3)"."""
    from .proxy import Handle

    form = _form(value)
    if form[0] == "sequence":
        return f"a {type(value).__name__} of {form[1]} value{'s' * (form[1] != 1)}"
    if form[0] == "dict":
        keys = ", ".join(sorted(repr(k)[:40] for k in value)[:8]) + (", ..." if len(value) > 8 else "")
        return f"a dict with keys {{{keys}}}" if value else "an empty dict"
    if form[0] == "array":
        return f"an array of shape {form[1]}"
    if form[0] == "tensor":
        return f"a tensor of shape {form[1]}"
    if form[0] == "str":
        return f"a {type(value).__name__} of {len(value)} characters"
    if isinstance(value, Handle):
        return f"an object of type {value.type_name}"
    return {"None": "None", "number": "a number"}.get(form[0], f"an object of type {type(value).__name__}")
