"""The ``submission`` fixture's object: the student's code, seen from the judge.

``submission.affine_forward(x, w, b)`` sends the call to the worker and
returns plain data. Attribute access builds a path (``Remote``), a call sends
it. Results that cannot travel come back as ``Handle`` objects, which can be
passed back in or called further (``opt.step()``). A tuple the worker returned
(a layer's cache) is passed back by reference, so the student's backward gets
its own object, whatever its format.

Every call of a test is recorded (``calls``) so that, when the test fails,
the mistake catalogue can replay the same calls on its wrong variants.
"""
from __future__ import annotations

import contextvars
import copy
import re
from dataclasses import dataclass, field
from typing import Any, Callable

from . import errors, wire
from .config import Limits
from .helpers import PACKAGE as HELPERS_PACKAGE


@dataclass
class CallRecord:
    path: str  # e.g. "affine_backward" or "backprop_torch.SigmoidFunction.apply"
    args: tuple
    kwargs: dict
    value: Any = None
    error: BaseException | None = None
    result_id: int | None = None
    args_after: tuple | None = None  # set when the test inspected the call
    target: "Remote | None" = None  # what was called, to name the student's functions in messages
    warnings: list[dict] = field(default_factory=list)  # what the call raised: {"category", "message", "where"?}


@dataclass
class Inspection:
    """A call observed closely: its result, its arguments after it, and aliasing."""

    value: Any
    args_after: tuple
    aliases: list[str] = field(default_factory=list)


class Remote:
    """A path to something in the student's code (a function, a class, a kept object)."""

    def __init__(self, proxy: "SubmissionProxy", root: str, path: tuple = (), generation: int = 0) -> None:
        object.__setattr__(self, "_proxy", proxy)
        object.__setattr__(self, "_root", root)
        object.__setattr__(self, "_path", path)
        object.__setattr__(self, "_generation", generation)

    def __getattr__(self, name: str) -> "Remote":
        if name.startswith("__"):
            raise AttributeError(name)
        return Remote(self._proxy, self._root, self._path + ((".", name),), self._generation)

    def __getitem__(self, key) -> "Remote":
        return Remote(self._proxy, self._root, self._path + (("[]", key),), self._generation)

    def __setattr__(self, name, value):
        raise AttributeError("cannot set attributes on the student's objects from a test")

    def __call__(self, *args, **kwargs) -> Any:
        return self._proxy._call(self, args, kwargs)

    def inspect(self, *args, **kwargs) -> Inspection:
        return self._proxy._call(self, args, kwargs, inspect=True)

    def fetch(self) -> Any:
        """The value this path names, as data (e.g. a kept tensor, an attribute)."""
        return self._proxy._fetch(self)

    @property
    def dotted(self) -> str:
        base = self._root.split(":", 1)[1] if self._root.startswith(("module:", "import:")) else "object"
        parts = [base] + [f".{a}" if op == "." else f"[{a!r}]" for op, a in self._path]
        return "".join(parts)

    def node(self) -> dict:
        return {"t": "ref", "root": self._root, "path": [list(step) for step in self._path]}

    def __repr__(self) -> str:
        return f"<student's {self.dotted}>"


class Handle(Remote):
    """An object that stayed in the worker (it could not travel as data)."""

    def __init__(self, proxy, handle_id: int, type_name: str, generation: int) -> None:
        super().__init__(proxy, f"handle:{handle_id}", (), generation)
        object.__setattr__(self, "type_name", type_name)

    def __repr__(self) -> str:
        return f"<object of type {self.type_name} in the student's worker>"


class SubmissionProxy:
    """What tests receive as ``submission``."""

    def __init__(self, session, modules: list[str], limits: Limits) -> None:
        self._session = session
        self._modules = list(modules)
        self.limits = limits  # the judge sets per-test limits here
        self.calls: list[CallRecord] = []
        self._sent_back: dict[int, tuple[Any, str, tuple]] = {}  # id(tuple) -> (tuple, result root, index path)
        # When grading, the judge sets this to a function that returns the reference namespace;
        # the numerical helpers of autograder.asserts then differentiate the reference (None: `check`).
        self.reference_loader: Callable[[], Any] | None = None
        self.notes: list[str] = []  # what a test's failure message must add (what was compared with what)

    def __getattr__(self, name: str) -> Remote:
        if name.startswith("_"):
            raise AttributeError(name)
        gen = getattr(self._session, "generation", 0)
        # The primary module's names come first: softmax.py may define softmax().
        if name in self._modules[1:]:
            return Remote(self, f"module:{name}", (), gen)
        return Remote(self, f"module:{self._modules[0]}", ((".", name),), gen)

    def library(self, dotted: str) -> Remote:
        """A module the worker may import for a test's use (numpy, math, torch, autograder.probes)."""
        return Remote(self, f"import:{dotted}", (), getattr(self._session, "generation", 0))

    @property
    def helpers(self) -> Remote:
        """The exercise's worker helpers (``worker_helpers.py`` in the assignment's folder), loaded in
        the worker by the fork server before it forked: ``submission.helpers.bn_forward(...)``."""
        found = getattr(self._session, "helpers", None)
        if not found:
            raise AuthoringError("submission.helpers: this assignment has no worker_helpers.py "
                                        "(autograder.helpers)")
        return Remote(self, f"import:{found[0]}", (), getattr(self._session, "generation", 0))

    def vjp(self, fn: Remote, inputs: tuple, grad_outputs: Any) -> tuple[Any, tuple]:
        """Run ``fn(*inputs)`` in the worker and backpropagate ``grad_outputs``: (output, input grads)."""
        return self.library("autograder.probes").vjp(fn, tuple(inputs), grad_outputs)

    def new_test(self, limits: Limits) -> None:
        self.limits = limits
        self.calls = []
        self.notes = []
        self._sent_back.clear()
        self._session.release()

    # --------------------------------------------------------------- calls

    def _call(self, target: Remote, args: tuple, kwargs: dict, inspect: bool = False) -> Any:
        if differentiating.get() and self.reference_loader is not None:
            raise AuthoringError(
                "numeric_gradient was given a plain function that calls the student's code: when grading, "
                "a numerical gradient must be taken of the reference, so wrap the call in batched(...)")
        record = CallRecord(path=target.dotted.split(".", 1)[-1] if target._root == f"module:{self._modules[0]}"
                            else target.dotted, args=args, kwargs=kwargs, target=target)
        self.calls.append(record)
        try:
            if self._session.mode == "none":
                outcome = self._call_in_process(target, args, kwargs, inspect, record)
            else:
                outcome = self._call_remote(target, args, kwargs, inspect, record)
        except BaseException as exc:
            record.error = exc
            raise
        record.value = outcome.value if inspect else outcome
        if inspect:
            record.args_after = outcome.args_after
        return outcome

    def _call_remote(self, target: Remote, args, kwargs, inspect: bool, record: CallRecord) -> Any:
        self._check_generation(target)
        (tree_args, tree_kwargs), bufs = wire.encode_all(
            [tuple(args), dict(kwargs)], keep=self._unsendable, prefer=self._prefer)
        msg = {"op": "call", "target": target.node(), "args": tree_args, "kwargs": tree_kwargs, "inspect": inspect}
        reply = self._session.request(msg, bufs, self.limits, what=_Running(target, args))
        raw = reply.raw
        if not raw.get("ok"):
            raise _problem(raw.get("error", {}), target, args, self.limits)
        value = self._decode(raw.get("value"), reply.buffers)
        record.result_id = raw.get("result")
        record.warnings = _noted_warnings(raw.get("warnings"))
        self._index(value, f"result:{raw.get('result')}")
        if not inspect:
            return value
        args_after = self._decode(raw.get("args_after"), reply.buffers)
        aliases = raw.get("aliases")
        aliases = [clean_text(a, 100) for a in aliases[:10]] if isinstance(aliases, list) else []
        return Inspection(value, args_after, aliases)

    def _fetch(self, target: Remote) -> Any:
        if self._session.mode == "none":
            return _resolve_local(self._session, target)
        self._check_generation(target)
        reply = self._session.request({"op": "fetch", "target": target.node()}, [], self.limits,
                                      what=f"reading {target.dotted}")
        if not reply.raw.get("ok"):
            raise _problem(reply.raw.get("error", {}), target, limits=self.limits)
        return self._decode(reply.raw.get("value"), reply.buffers)

    def _decode(self, tree, buffers) -> Any:
        gen = self._session.generation

        def resolve(node: dict) -> Any:
            if node.get("t") == "handle" and type(node.get("id")) is int:
                return Handle(self, node["id"], clean_text(node.get("type", "?"), 200), gen)
            raise wire.WireError("unexpected reference in a reply")

        try:
            return wire.decode(tree, buffers, resolve=resolve, device_map=_device_map)
        except wire.WireError as exc:
            raise errors.WorkerDied(f"sent a reply the grader cannot read ({exc})") from None

    def _index(self, value: Any, root: str, path: tuple = ()) -> None:
        """Remember every tuple of a result (in tuples and lists), so that passing it back
        sends a reference."""
        if type(value) is tuple:
            self._sent_back[id(value)] = (value, root, path)
        if type(value) in (tuple, list):
            for i, item in enumerate(value):
                if type(item) in (tuple, list):
                    self._index(item, root, path + (i,))

    def _prefer(self, value: Any) -> dict | None:
        if isinstance(value, Remote):
            self._check_generation(value)
            return value.node()
        hit = self._sent_back.get(id(value))
        if hit is not None and hit[0] is value:
            return {"t": "ref", "root": hit[1], "path": [["[]", i] for i in hit[2]]}
        return None

    def _unsendable(self, value: Any) -> dict:
        raise errors.SubmissionProblem(f"the test tried to send a {type(value).__name__}, which cannot travel")

    def _check_generation(self, remote: Remote) -> None:
        if remote._root.startswith(("handle:", "result:")) and remote._generation != self._session.generation:
            raise errors.WorkerDied(
                "this object lived in a worker that was replaced after an earlier failure in this test"
            )

    # ------------------------------------------------------------ in-process

    def _call_in_process(self, target: Remote, args, kwargs, inspect: bool, record: CallRecord) -> Any:
        fn = _resolve_local(self._session, target)
        who = _Running(target, args)  # named from the Remote arguments, before they are resolved
        args, kwargs = self._localize(args), self._localize(kwargs)
        folder = str(self._session.submission)
        if not inspect:
            value, raised = _run_local(fn, who, args, kwargs, folder)
        else:
            originals = copy.deepcopy(args)
            value, raised = _run_local(fn, who, originals, kwargs, folder)
            value = Inspection(value, originals, _local_aliases(value, originals))
        record.warnings = _noted_warnings(raised)  # as a worker's reply would carry them
        return value


    def _localize(self, value: Any) -> Any:
        """Arguments that name student or library objects, resolved in this process."""
        if isinstance(value, Remote):
            return _resolve_local(self._session, value)
        if type(value) in (tuple, list):
            return type(value)(self._localize(v) for v in value)
        if type(value) is dict:
            return {k: self._localize(v) for k, v in value.items()}
        return value


class _Running:
    """"running <function>", for a message that is rarely needed: built only when shown."""

    def __init__(self, target: Remote, args: tuple = ()) -> None:
        self.target = target
        self.args = args

    def __str__(self) -> str:
        return f"running {_who(self.target, self.args)}"


def _who(target: Remote, args: tuple = ()) -> str:
    """The student's code a call runs, for messages: the target itself, or for one of the
    grader's probes (which runs student functions passed to it) those functions."""
    if not target._root.startswith(("import:autograder.probes", f"import:{HELPERS_PACKAGE}.")):
        return target.dotted
    names: list[str] = []

    def find(value: Any, depth: int) -> None:
        if isinstance(value, Handle):  # an object of the student's (a layer, an optimizer), by its class
            if value.type_name.split(".")[0] in target._proxy._modules and value.type_name not in names:
                names.append(value.type_name)
        elif isinstance(value, Remote):
            if value._root.startswith("module:") and value.dotted not in names:
                names.append(value.dotted)
        elif type(value) in (tuple, list) and depth < 4:
            for item in value:
                find(item, depth + 1)

    find(args, 0)
    return " and ".join(names) or "your code"


def _run_local(fn, who: "_Running", args, kwargs, folder: str) -> tuple[Any, list[dict]]:
    """In-process: the call and the warnings it raised; an exception reads as the worker's would."""
    from .worker import call_noting_warnings, describe

    try:
        return call_noting_warnings(fn, args, kwargs, folder)
    except Exception as exc:  # noqa: BLE001 - the student's code may raise anything
        raise _problem(describe(exc, folder), who.target, who.args) from None


def _noted_warnings(reports: Any) -> list[dict]:
    """The warnings a worker says a call raised: worker text, so checked, cleaned and capped here."""
    from .worker import WARNINGS_KEPT

    if not isinstance(reports, list):
        return []
    return [{key: clean_text(report.get(key, ""), limit) for key, limit in _WARNING_FIELDS if key in report}
            for report in reports[:WARNINGS_KEPT] if isinstance(report, dict)]


_WARNING_FIELDS = (("category", 100), ("message", 300), ("where", 200))


def _resolve_local(session, target: Remote) -> Any:
    import importlib

    kind, _, key = target._root.partition(":")
    if kind == "module":
        if key in session.import_errors:
            exc = session.import_errors[key]
            if isinstance(exc, ModuleNotFoundError):
                raise errors.NotImplementedYet(f"{key}.py is not in your submission")
            raise errors.StudentException(f"importing {key}.py failed: {type(exc).__name__}: {exc}")
        obj = session.modules[key]
    elif kind == "import":
        obj = importlib.import_module(key)
    elif kind == "handle":
        raise errors.SubmissionProblem("handles do not exist in-process")
    for op, arg in target._path:
        if op == ".":
            if not hasattr(obj, arg) and kind == "module":
                raise errors.NotImplementedYet(f"{arg} is missing from {key}.py: not implemented yet")
            obj = getattr(obj, arg)
        else:
            obj = obj[arg]
    return obj


def _local_aliases(value, args) -> list[str]:
    from .worker import _aliases

    return _aliases(value, args)


def _device_map(device: str) -> str:
    if device.startswith("cuda"):
        import torch

        if not torch.cuda.is_available():
            return "cpu"
    elif device != "cpu" and not device.startswith("cuda"):
        return "cpu"
    return device


def _problem(info: dict, target: Remote, args: tuple = (), limits: Limits | None = None) -> errors.SubmissionProblem:
    """Turn a worker's error report into a message a student can act on."""
    kind = clean_text(info.get("type", "Exception"), 100)
    message = clean_text(info.get("message", ""), 2000)
    tb = clean_text(info.get("traceback", ""), 4000)
    if info.get("missing_module"):
        return errors.NotImplementedYet(f"not implemented yet: {message}")
    if info.get("missing"):
        return errors.NotImplementedYet(f"not implemented yet: {message} (is the function named exactly like that?)")
    if info.get("during_import"):
        where = f"\n{tb}" if tb else ""
        return errors.StudentException(f"importing your code failed with {kind}: {message}{where}")
    who = _who(target, args)
    if info.get("not_implemented"):
        return _not_implemented(message, who)
    if kind == "StaleHandle":
        return errors.WorkerDied(message)
    where = f"\nTraceback (your code):\n{tb}" if tb else ""
    if info.get("type") in ("MemoryError", "_ArrayMemoryError") and limits is not None:
        # Where no memory cgroup exists (a TA without root), the limit is an address-space
        # rlimit, and going over it raises MemoryError instead of ending the worker.
        return errors.StudentException(f"{who} ran out of memory: it asked for more than the memory limit of "
                                       f"{limits.memory_mb} MiB allows (MemoryError){where}")
    if info.get("type") == "OutOfMemoryError" and limits is not None:
        # torch's CUDA allocator, capped per worker: several workers share one GPU.
        return errors.StudentException(f"{who} ran out of GPU memory: it asked for more than the GPU memory limit "
                                       f"of {limits.gpu_memory_mb} MiB allows (torch.OutOfMemoryError){where}")
    return errors.StudentException(f"{who} raised {kind}: {message}{where}")


def _not_implemented(message: str, who: str) -> errors.NotImplementedYet:
    """A NotImplementedError's message, in the worker or in-process alike."""
    if "not implemented" in message.lower():
        return errors.NotImplementedYet(message)  # a stub's own words name its function
    return errors.NotImplementedYet(f"{who}: not implemented yet ({message or 'NotImplementedError'})")


# ------------------------------------------------------------ worker text


CUT = "[... cut]"
# An ANSI escape sequence: CSI (ESC [ ... final byte), OSC (ESC ] ... BEL or ESC \\), or a two-byte one.
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-_])")
# Control characters but newline and tab, and the invisible and direction-changing ones of Unicode
# (text that would read differently from what it holds).
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b-\u200f\u2028-\u202e\u2066-\u2069]")


def clean_text(value: Any, limit: int = 2000) -> str:
    """Text that came from the worker, fit for a message or a results document.

    ANSI escape sequences are removed, other control characters (but newline
    and tab) are written as escapes (``\\x07``), and the text is cut to at most
    ``limit`` characters, the cut marked "[... cut]". The worker caps its own
    reports, but a submission can patch the worker: every string from it goes
    through here before it reaches a message or a results document.
    """
    text = value if type(value) is str else str(value)
    cut = len(text) > 4 * limit  # cleaning rarely shrinks text to a quarter: clean only what can be kept
    text = _ANSI.sub("", text[: 4 * limit])
    text = _UNSAFE.sub(lambda m: ascii(m.group())[1:-1], text)
    if cut or len(text) > limit:
        text = text[: max(limit - len(CUT), 0)] + CUT
    return text


# ------------------------------------------------------------ authoring errors


class AuthoringError(Exception):
    """A test uses a helper in a way that cannot be graded soundly: the test's fault, a grader error."""


# Set while numeric_gradient evaluates a plain function: a call to the student's code then would be
# a numerical gradient of the student's own code, which grading must not rest on.
differentiating: contextvars.ContextVar[bool] = contextvars.ContextVar("differentiating", default=False)
