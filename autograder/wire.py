"""The wire format between judge and worker: safe to read from an untrusted peer.

A message is one frame: an 8-byte header (two big-endian uint32: the length of
a JSON document and the number of binary buffers), the JSON document, then each
buffer as an 8-byte length and its raw bytes. Arrays travel as raw buffers with
their dtype and shape; plain containers and scalars travel as JSON data. Nothing
is ever unpickled, and the decoder only builds plain Python, numpy and torch
objects, so a hostile worker can send wrong numbers but never code or objects
with behaviour of their own (no custom ``__eq__``, no float subclasses).

Values the encoder cannot express (a layer's cache object, an optimizer) are
turned into handles by the caller's ``keep`` function: they stay in the worker
and travel as ``{"t": "handle", "id": n}``.
"""
from __future__ import annotations

import json
import math
import re
import socket
import struct
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

MAX_FRAME_BYTES = 512 * 2**20
MAX_BUFFERS = 4096
MAX_DEPTH = 32
# The JSON part holds structure only (arrays travel as buffers): a few MiB is far more than any
# reply needs, and its elements are counted before parsing, so a hostile peer cannot make the
# reader build millions of Python objects (a 512 MiB document once grew a judge to 7.6 GiB).
MAX_JSON_BYTES = 8 * 2**20
MAX_JSON_ITEMS = 1_000_000

# Only plain numeric dtypes cross the boundary: object, void and string
# dtypes could smuggle structure the judge does not expect.
_SAFE_KINDS = set("biufc")


class WireError(Exception):
    """The peer sent something that is not a valid message."""


@dataclass(frozen=True)
class HandleRef:
    """An object that stayed in the worker; only its id and type travel."""

    id: int
    type_name: str


@dataclass(frozen=True)
class Ref:
    """A name the worker resolves itself, e.g. a student function path.

    ``root`` is ``"module:<name>"`` for a student module, ``"handle:<id>"`` for
    a kept object, or ``"import:<dotted.module>"`` for an allowed library.
    """

    root: str
    path: tuple[str, ...] = ()


# --------------------------------------------------------------------- encode


def encode(
    value: Any,
    keep: Callable[[Any], dict] | None = None,
    prefer: Callable[[Any], dict | None] | None = None,
) -> tuple[dict, list[bytes]]:
    """Turn ``value`` into a JSON-able tree plus a list of raw buffers.

    ``keep`` receives what cannot be encoded (and returns a handle node);
    ``prefer`` may claim any value but plain scalars, strings and numpy arrays
    first (the judge sends objects that came from the worker back as references
    rather than copies).
    """
    trees, buffers = encode_all([value], keep, prefer)
    return trees[0], buffers


def encode_all(
    values: list,
    keep: Callable[[Any], dict] | None = None,
    prefer: Callable[[Any], dict | None] | None = None,
) -> tuple[list, list[bytes]]:
    """Encode several values of one message (a call's args and kwargs) into one buffer list."""
    buffers: list[bytes] = []
    # An array object that appears several times (the fixed arguments of a batch)
    # travels once; every occurrence still decodes to its own copy.
    sent: dict[int, dict] = {}

    def enc(v: Any, depth: int) -> Any:
        t = type(v)
        if t is str or t is bool or v is None:
            return v
        if t is float:
            return v if math.isfinite(v) else {"t": "float", "v": repr(v)}
        if t is int:
            return v if -2**63 < v < 2**63 else {"t": "bigint", "v": str(v)}
        if t is np.ndarray and v.dtype.kind in _SAFE_KINDS:
            # Keyed by id: safe because v is part of the value, alive until encoding ends.
            node = sent.get(id(v))
            if node is None:
                node = sent[id(v)] = _enc_array(v, buffers)
            return dict(node)
        if prefer is not None:
            node = prefer(v)
            if node is not None:
                return node
        if (t is tuple or t is list or t is dict) and v and depth >= MAX_DEPTH:
            raise WireError("value nested too deeply to send")
        if t is tuple:
            return {"t": "tuple", "v": [enc(x, depth + 1) for x in v]}
        if t is list:
            return {"t": "list", "v": [enc(x, depth + 1) for x in v]}
        if t is dict:
            return {"t": "dict", "v": [[enc(k, depth + 1), enc(x, depth + 1)] for k, x in v.items()]}
        if isinstance(v, np.generic) and t.__module__ == "numpy" and v.dtype.kind in _SAFE_KINDS:
            node = _enc_array(np.asarray(v), buffers)
            node["t"] = "npscalar"
            return node
        if t is HandleRef:
            return {"t": "handle", "id": v.id, "type": v.type_name}
        if t is Ref:
            return {"t": "ref", "root": v.root, "path": list(v.path)}
        tensor = _enc_tensor(v, buffers)
        if tensor is not None:
            return tensor
        if keep is None:
            raise WireError(f"cannot send a value of type {t.__module__}.{t.__qualname__}")
        return keep(v)

    return [enc(value, 0) for value in values], buffers


def _enc_array(a: np.ndarray, buffers: list[bytes]) -> dict:
    if not a.flags.c_contiguous:
        a = a.copy(order="C")  # not np.ascontiguousarray: it turns 0-d arrays into shape (1,)
    buffers.append(a.tobytes())
    return {"t": "ndarray", "dtype": a.dtype.str, "shape": list(a.shape), "buf": len(buffers) - 1}


def _enc_tensor(v: Any, buffers: list[bytes]) -> dict | None:
    torch = _torch_if_loaded()
    if torch is None or type(v) not in (torch.Tensor, torch.nn.Parameter):
        return None
    if v.layout != torch.strided or v.is_complex():
        return None
    cpu = v.detach().to("cpu").contiguous()
    if v.dtype == torch.bfloat16:  # numpy has no bfloat16: its 16 bits travel as int16
        cpu = cpu.view(torch.int16)
    node = _enc_array(cpu.numpy(), buffers)
    node.update(
        t="tensor",
        torch_dtype=str(v.dtype).removeprefix("torch."),
        device=str(v.device),
        requires_grad=bool(v.requires_grad),
        parameter=type(v) is torch.nn.Parameter,
    )
    return node


def _torch_if_loaded():
    import sys

    return sys.modules.get("torch")


# --------------------------------------------------------------------- decode


def decode(
    tree: Any,
    buffers: list[bytes],
    resolve: Callable[[dict], Any] | None = None,
    device_map: Callable[[str], str] | None = None,
) -> Any:
    """Rebuild plain values from ``tree``; ``resolve`` turns handle/ref nodes into objects."""
    return decode_all([tree], buffers, resolve, device_map)[0]


def decode_all(
    trees: list,
    buffers: list[bytes],
    resolve: Callable[[dict], Any] | None = None,
    device_map: Callable[[str], str] | None = None,
) -> list:
    """Decode several trees of one message (a call's args and kwargs) against its buffers."""

    def dec(node: Any, depth: int) -> Any:
        t = type(node)
        if t in _PLAIN:  # exact types only: json.loads never yields subclasses
            return node
        if t is not dict:
            raise WireError("bare list in message" if t is list else f"unexpected node {t.__name__}")
        kind = node.get("t")
        if kind == "ndarray":
            return _dec_array(node, buffers)
        if kind == "tuple":
            return tuple([dec(x, depth + 1) for x in _items(node, depth)])
        if kind == "list":
            return [dec(x, depth + 1) for x in _items(node, depth)]
        if kind == "dict":
            out = {}
            for pair in _items(node, depth):
                if type(pair) is not list or len(pair) != 2:
                    raise WireError("malformed dict entry")
                key = dec(pair[0], depth + 1)
                try:
                    hash(key)
                except TypeError:
                    raise WireError("unhashable dict key") from None
                out[key] = dec(pair[1], depth + 1)
            return out
        if kind == "tensor":
            return _dec_tensor(node, buffers, device_map)
        if kind == "npscalar":
            return _dec_array(node, buffers)[()]
        if kind == "bigint":
            text = _str(node, "v")
            if len(text) > 4000 or not re.fullmatch(r"-?[0-9]+", text):
                raise WireError("malformed integer")
            return int(text)
        if kind == "float":
            text = _str(node, "v")
            if text not in ("nan", "inf", "-inf"):
                raise WireError("malformed float")
            return float(text)
        if kind in ("handle", "ref"):
            if resolve is None:
                raise WireError(f"unexpected {kind} in message")
            return resolve(node)
        raise WireError(f"unknown node type {kind!r}")

    try:
        return [dec(tree, 0) for tree in trees]
    except WireError:
        raise
    except (ValueError, TypeError, RuntimeError, OverflowError, RecursionError, MemoryError) as exc:
        # Whatever a hostile peer's data makes numpy or torch raise, it is a bad message.
        raise WireError(f"malformed value: {type(exc).__name__}: {exc}") from None


_PLAIN = frozenset({type(None), bool, int, float, str})


def _items(node: dict, depth: int) -> list:
    """A container's entries; a non-empty container at the depth limit would nest deeper."""
    items = node.get("v")
    if type(items) is not list:
        raise WireError("malformed container")
    if items and depth >= MAX_DEPTH:
        raise WireError("message nested too deeply")
    return items


def _str(node: dict, key: str) -> str:
    v = node.get(key)
    if not isinstance(v, str):
        raise WireError(f"malformed field {key!r}")
    return v


def _dec_array(node: dict, buffers: list[bytes]) -> np.ndarray:
    dtype = _safe_dtype(node.get("dtype"))
    shape = node.get("shape")
    if type(shape) is not list or len(shape) > 32:
        raise WireError("malformed shape")
    size = dtype.itemsize
    for d in shape:
        if type(d) is not int or not 0 <= d < 2**40:
            raise WireError("malformed shape")
        size *= d
    index = node.get("buf")
    if type(index) is not int or not 0 <= index < len(buffers):
        raise WireError("bad buffer index")
    raw = buffers[index]
    if len(raw) != size:
        raise WireError("buffer size does not match shape and dtype")
    # A fresh, writable copy that owns its memory and aliases nothing.
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


_DTYPES: dict[str, np.dtype] = {}  # dtype strings already checked: parsing one costs more than the copy


def _safe_dtype(text: Any) -> np.dtype:
    dtype = _DTYPES.get(text) if type(text) is str else None
    if dtype is not None:
        return dtype
    if type(text) is not str:
        raise WireError("malformed field 'dtype'")
    try:
        dtype = np.dtype(text)
    except TypeError as exc:
        raise WireError(f"bad dtype: {exc}") from None
    if dtype.kind not in _SAFE_KINDS or dtype.hasobject or dtype.subdtype is not None:
        raise WireError(f"dtype {dtype} may not cross the boundary")
    if len(_DTYPES) < 256:
        _DTYPES[text] = dtype
    return dtype


def _dec_tensor(node: dict, buffers: list[bytes], device_map) -> Any:
    import torch

    arr = _dec_array(node, buffers)
    dtype = getattr(torch, _str(node, "torch_dtype"), None)
    if not isinstance(dtype, torch.dtype):
        raise WireError("bad torch dtype")
    device = _str(node, "device")
    if device_map is not None:
        device = device_map(device)
    try:
        t = torch.from_numpy(arr)
        if dtype == torch.bfloat16:
            if arr.dtype != np.int16:
                raise WireError("a bfloat16 tensor must travel as int16 bits")
            t = t.view(torch.bfloat16)
        t = t.to(dtype=dtype, device=device)
    except (RuntimeError, TypeError, ValueError) as exc:
        raise WireError(f"cannot rebuild a tensor on {device!r} as {dtype}: {exc}") from None
    if node.get("parameter") is True:
        return torch.nn.Parameter(t, requires_grad=bool(node.get("requires_grad")))
    if node.get("requires_grad") is True and t.is_floating_point():
        t.requires_grad_(True)
    return t


# --------------------------------------------------------------------- framing


# One encoder and one decoder for every message: json.dumps with options builds a new encoder per call.
_JSON = json.JSONEncoder(separators=(",", ":"))
_JSON_IN = json.JSONDecoder()


def pack(obj: dict, buffers: list[bytes] = ()) -> bytes:
    head = _JSON.encode(obj).encode()
    parts = [struct.pack(">II", len(head), len(buffers)), head]
    for b in buffers:
        parts.append(struct.pack(">Q", len(b)))
        parts.append(b)
    return b"".join(parts)


def send(sock: socket.socket, obj: dict, buffers: list[bytes] = ()) -> None:
    sock.sendall(pack(obj, buffers))


class FrameReader:
    """Collects bytes from a socket and cuts them into frames: one recv per message, not six."""

    def __init__(self, max_bytes: int = MAX_FRAME_BYTES) -> None:
        self.data = bytearray()
        self.max_bytes = max_bytes
        # One reusable read buffer: sock.recv(n) would allocate (and fault in) n bytes per read.
        self.scratch = bytearray(256 * 1024)

    def feed(self, chunk: bytes) -> None:
        self.data += chunk

    def fill(self, sock: socket.socket) -> int:
        """Append what the socket has (blocking per its mode); 0 means the peer closed."""
        n = sock.recv_into(self.scratch)
        self.data += memoryview(self.scratch)[:n]
        return n

    def fill_ready(self, sock: socket.socket) -> int:
        """Append what the socket already holds, without waiting; 0 when nothing is there yet."""
        try:
            n = sock.recv_into(self.scratch, 0, socket.MSG_DONTWAIT)
        except (BlockingIOError, InterruptedError):
            return 0
        if not n:
            raise EOFError("connection closed")
        self.data += memoryview(self.scratch)[:n]
        return n

    def next_frame(self) -> tuple[dict, list[bytes]] | None:
        """The first complete frame, removed from the buffer; None until one is whole."""
        data = self.data
        if len(data) < 8:
            return None
        n_head, n_buf = struct.unpack_from(">II", data, 0)
        if n_head > min(self.max_bytes, MAX_JSON_BYTES):
            raise WireError(f"message too large (its JSON part is over {MAX_JSON_BYTES // 2**20} MiB)")
        if n_buf > MAX_BUFFERS:
            raise WireError(f"message too large (more than {MAX_BUFFERS} buffers)")
        pos = 8 + n_head
        spans = []
        for _ in range(n_buf):
            if len(data) < pos + 8:
                return None
            (size,) = struct.unpack_from(">Q", data, pos)
            if pos + size > self.max_bytes:
                raise WireError(f"message larger than the {self.max_bytes // 2**20} MiB limit")
            spans.append((pos + 8, pos + 8 + size))
            pos += 8 + size
        if len(data) < pos:
            return None
        with memoryview(data) as view:  # slices of a view copy once; released before the resize below
            head = bytes(view[8 : 8 + n_head])
            if _json_items(head) > MAX_JSON_ITEMS:
                raise WireError(f"message too large (more than {MAX_JSON_ITEMS} JSON elements)")
            try:
                text = str(head, "utf-8")
                obj, end = _JSON_IN.raw_decode(text)
            except (ValueError, UnicodeDecodeError, RecursionError, MemoryError) as exc:
                raise WireError(f"malformed JSON: {type(exc).__name__}") from None
            if end != len(text):
                raise WireError("malformed JSON: data after the document")
            if not isinstance(obj, dict):
                raise WireError("message is not an object")
            buffers = [bytes(view[a:b]) for a, b in spans]
        del data[:pos]
        return obj, buffers


def _json_items(head: bytes) -> int:
    """An upper bound on the values in a JSON document, counted without parsing it."""
    return head.count(b",") + head.count(b"[") + head.count(b"{") + 1


def recv(sock: socket.socket, reader: FrameReader) -> tuple[dict, list[bytes]]:
    """Blocking read of one frame; raises EOFError when the peer closed the connection.

    The reader is the caller's, kept for the connection's life: a read may
    bring in the start of the next frame, which must not be lost.
    """
    while True:
        frame = reader.next_frame()
        if frame is not None:
            return frame
        if not reader.fill(sock):
            raise EOFError("connection closed")


def unpack(data: bytes, max_bytes: int = MAX_FRAME_BYTES) -> tuple[dict, list[bytes]]:
    """Parse one frame held whole in ``data`` (a datagram of the server's control socket)."""
    reader = FrameReader(max_bytes)
    reader.feed(data)
    frame = reader.next_frame()
    if frame is None:
        raise EOFError("truncated message")
    return frame


# --------------------------------------------------------------------- files


def pack_files(files: dict[str, bytes]) -> tuple[list, bytes]:
    """A submission's files as one index ``[[relative path, size], ...]`` and one buffer:
    any number of files fits a frame's buffer limit."""
    names = sorted(files)
    return [[name, len(files[name])] for name in names], b"".join(files[name] for name in names)


def unpack_files(index: Any, blob: bytes) -> dict[str, bytes]:
    """The inverse of ``pack_files``, refusing paths that would leave the folder they go into."""
    if type(index) is not list:
        raise WireError("malformed file index")
    files, pos = {}, 0
    for entry in index:
        if type(entry) is not list or len(entry) != 2 or type(entry[0]) is not str or type(entry[1]) is not int:
            raise WireError("malformed file index")
        name, size = entry
        parts = name.split("/")
        if not name or name.startswith("/") or "\\" in name or "\0" in name or any(p in ("", ".", "..") for p in parts):
            raise WireError(f"unsafe file name {name[:100]!r}")
        if size < 0 or pos + size > len(blob):
            raise WireError("file sizes do not match the buffer")
        files[name] = bytes(blob[pos : pos + size])
        pos += size
    if pos != len(blob):
        raise WireError("file sizes do not match the buffer")
    return files
