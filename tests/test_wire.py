"""Tests of autograder.wire: the judge <-> worker wire format (safe against a hostile peer)."""
from __future__ import annotations

import json
import math
import socket
import struct
import threading

import numpy as np
import pytest
import torch

from autograder import wire
from autograder.wire import HandleRef, Ref, WireError


def roundtrip(value, keep=None):
    """encode -> pack -> unpack -> decode, the way a value really travels."""
    tree, buffers = wire.encode(value, keep=keep)
    frame = wire.pack({"value": tree}, buffers)
    msg, bufs = wire.unpack(frame)
    return wire.decode(msg["value"], bufs)


def frame(head: bytes, buffers: list[bytes] = ()) -> bytes:
    """A raw frame with an arbitrary JSON head (for hostile input)."""
    parts = [struct.pack(">II", len(head), len(buffers)), head]
    for b in buffers:
        parts += [struct.pack(">Q", len(b)), b]
    return b"".join(parts)


def arr_node(dtype="<f8", shape=(2,), buf=0, **extra):
    return {"t": "ndarray", "dtype": dtype, "shape": list(shape), "buf": buf, **extra}


# --------------------------------------------------------------------- plain values


@pytest.mark.parametrize(
    "value",
    [
        None, True, False, 0, 1, -7, 2**63 - 1, -(2**63) + 1,
        0.0, 1.5, -2.25, 1e-300, 1.7976931348623157e308,
        "", "hello", "ünïcødé ✓ \n\t\"quoted\"",
    ],
    ids=repr,
)
def test_scalar_roundtrip_is_exact(value):
    out = roundtrip(value)
    assert type(out) is type(value)
    assert out == value


@pytest.mark.parametrize("big", [2**63, -(2**63), 2**200 + 12345, -(10**50) - 1, 2**64])
def test_big_ints_travel_as_bigint_nodes_and_come_back_exact(big):
    tree, buffers = wire.encode(big)
    assert tree == {"t": "bigint", "v": str(big)}
    assert buffers == []
    out = roundtrip(big)
    assert type(out) is int and out == big


def test_int_boundary_stays_plain_json():
    assert wire.encode(2**63 - 1)[0] == 2**63 - 1
    assert wire.encode(-(2**63) + 1)[0] == -(2**63) + 1
    assert wire.encode(-(2**63))[0] == {"t": "bigint", "v": str(-(2**63))}


def test_negative_zero_keeps_its_sign():
    out = roundtrip(-0.0)
    assert out == 0.0 and math.copysign(1.0, out) == -1.0


@pytest.mark.parametrize("text", ["nan", "inf", "-inf"])
def test_non_finite_floats_roundtrip(text):
    value = float(text)
    tree, _ = wire.encode(value)
    assert tree == {"t": "float", "v": text}
    out = roundtrip(value)
    assert type(out) is float
    if text == "nan":
        assert math.isnan(out)
    else:
        assert out == value


def test_non_finite_floats_never_reach_json_as_bare_literals():
    tree, buffers = wire.encode([float("nan"), float("inf")])
    head = wire.pack(tree, buffers)[8:].decode()
    assert "NaN" not in head and "Infinity" not in head
    json.loads(head, parse_constant=lambda c: pytest.fail(f"bare {c} in the JSON"))


def test_containers_roundtrip_with_their_types():
    value = {
        "tuple": (1, 2.5, "x"),
        "list": [1, [2, [3, ()]]],
        "empty": ([], (), {}),
        "nested": {"a": {"b": [None, True]}},
    }
    out = roundtrip(value)
    assert out == value
    assert type(out["tuple"]) is tuple
    assert type(out["list"]) is list and type(out["list"][1][1][1]) is tuple
    assert [type(x) for x in out["empty"]] == [list, tuple, dict]


def test_dict_keys_keep_their_types_int_and_str_do_not_collide():
    value = {1: "int one", "1": "str one", (2, 3): "tuple", None: 0, 2.5: "float", 2**70: "big"}
    out = roundtrip(value)
    assert out == value
    assert out[1] == "int one" and out["1"] == "str one"
    assert list(out) == list(value)  # insertion order kept
    assert {type(k) for k in out} == {int, str, tuple, type(None), float}


def test_nesting_up_to_max_depth_is_fine_and_deeper_is_refused():
    def nest(k):
        v = 0
        for _ in range(k):
            v = [v]
        return v

    assert roundtrip(nest(wire.MAX_DEPTH)) == nest(wire.MAX_DEPTH)
    with pytest.raises(WireError, match="nested too deeply"):
        wire.encode(nest(wire.MAX_DEPTH + 1))


def test_handle_ref_and_ref_encode_to_nodes():
    tree, _ = wire.encode([HandleRef(5, "Cache"), Ref("module:backprop", ("affine_forward",))])
    assert tree == {"t": "list", "v": [
        {"t": "handle", "id": 5, "type": "Cache"},
        {"t": "ref", "root": "module:backprop", "path": ["affine_forward"]},
    ]}


def test_handle_and_ref_nodes_need_a_resolver():
    with pytest.raises(WireError, match="unexpected handle"):
        wire.decode({"t": "handle", "id": 1}, [])
    with pytest.raises(WireError, match="unexpected ref"):
        wire.decode({"t": "ref", "root": "module:x", "path": []}, [])
    seen = []
    out = wire.decode({"t": "list", "v": [{"t": "handle", "id": 3}]}, [],
                      resolve=lambda node: seen.append(node) or "resolved")
    assert out == ["resolved"] and seen == [{"t": "handle", "id": 3}]


def test_prefer_claims_values_first():
    marker = object()
    tree, _ = wire.encode([1, marker], prefer=lambda v: {"t": "handle", "id": 9} if v is marker else None)
    assert tree == {"t": "list", "v": [1, {"t": "handle", "id": 9}]}


# --------------------------------------------------------------------- numpy


SAFE_DTYPES = ["bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
               "float16", "float32", "float64", "complex64", "complex128"]


@pytest.mark.parametrize("dtype", SAFE_DTYPES)
@pytest.mark.parametrize("shape", [(5,), (2, 3), (2, 1, 4), (0,), (3, 0, 2)], ids=str)
def test_array_roundtrip_every_safe_dtype(dtype, shape):
    rng = np.random.default_rng(0)
    a = (rng.normal(size=shape) * 100).astype(dtype)
    if np.dtype(dtype).kind == "c":
        a = a + 1j * np.arange(a.size).reshape(shape).astype(dtype)
    out = roundtrip(a)
    assert type(out) is np.ndarray
    assert out.dtype == np.dtype(dtype)
    assert out.shape == shape
    np.testing.assert_array_equal(out, a)


def test_array_values_bit_exact_including_nan_inf():
    a = np.array([np.nan, np.inf, -np.inf, -0.0, 5e-324, 1.5], dtype=np.float64)
    out = roundtrip(a)
    assert out.tobytes() == a.tobytes()


def test_non_native_byte_order_is_kept():
    a = np.arange(6, dtype=">i4")
    out = roundtrip(a)
    assert out.dtype == np.dtype(">i4")
    assert out.tolist() == [0, 1, 2, 3, 4, 5]


def test_non_contiguous_and_fortran_inputs():
    base = np.arange(24, dtype=np.float64).reshape(4, 6)
    strided = base[::2, 1::2]
    assert not strided.flags.c_contiguous
    out = roundtrip(strided)
    assert out.shape == (2, 3)
    assert out.tolist() == [[1.0, 3.0, 5.0], [13.0, 15.0, 17.0]]

    fortran = np.asfortranarray(base)
    assert fortran.flags.f_contiguous and not fortran.flags.c_contiguous
    out = roundtrip(fortran)
    assert out.shape == (4, 6)
    np.testing.assert_array_equal(out, base)

    transposed = base.T
    out = roundtrip(transposed)
    assert out.shape == (6, 4)
    assert out[1, 0] == 1.0 and out[0, 1] == 6.0


def test_decoded_array_is_writable_owns_its_data_and_aliases_no_buffer():
    raw = bytearray(np.arange(4, dtype="<f8").tobytes())
    out = wire.decode(arr_node(shape=(4,)), [raw])
    assert out.flags.writeable and out.flags.owndata
    raw[:8] = np.float64(99.0).tobytes()  # the receive buffer is reused
    assert out.tolist() == [0.0, 1.0, 2.0, 3.0]
    out[0] = -1.0
    assert np.frombuffer(bytes(raw), "<f8")[0] == 99.0


def test_two_decodes_of_one_buffer_are_independent():
    tree, bufs = wire.encode([np.zeros(3), np.zeros(3)])
    a = wire.decode(tree, bufs)
    tree2 = {"t": "list", "v": [arr_node(shape=(3,), buf=0), arr_node(shape=(3,), buf=0)]}
    x, y = wire.decode(tree2, [np.zeros(3).tobytes()])
    x[0] = 7.0
    assert y[0] == 0.0 and a[0].tolist() == [0.0, 0.0, 0.0]




@pytest.mark.parametrize("dtype", ["float64", "float32", "int64", "bool"])
def test_zero_d_array_roundtrip(dtype):
    a = np.array(3, dtype=dtype)
    out = roundtrip(a)
    assert type(out) is np.ndarray
    assert out.shape == ()
    assert out.dtype == np.dtype(dtype)
    assert out.item() == a.item()


@pytest.mark.parametrize(
    "scalar",
    [np.float32(1.5), np.float64(-2.25), np.float16(0.5), np.int8(-3), np.int64(2**40),
     np.uint8(200), np.bool_(True), np.complex64(1 + 2j), np.complex128(-1j)],
    ids=lambda s: type(s).__name__,
)
def test_numpy_scalars_come_back_as_the_same_numpy_scalar_type(scalar):
    out = roundtrip(scalar)
    assert type(out) is type(scalar)
    assert out == scalar


def test_a_student_sum_is_still_a_scalar():
    """np.sum returns np.float64, the most common return type of a loss."""
    loss = np.sum(np.array([0.5, 0.25]))
    out = roundtrip((loss, np.zeros(2)))
    assert np.ndim(out[0]) == 0
    assert float(out[0]) == 0.75


# --------------------------------------------------------------------- torch


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.int8,
                                   torch.int32, torch.int64, torch.uint8, torch.bool])
def test_tensor_keeps_dtype_and_values(dtype):
    t = (torch.arange(12) % 5).reshape(3, 4).to(dtype)
    out = roundtrip(t)
    assert type(out) is torch.Tensor
    assert out.dtype == dtype and tuple(out.shape) == (3, 4)
    assert out.device.type == "cpu"
    assert torch.equal(out, t)
    assert out.requires_grad is False


def test_tensor_requires_grad_is_kept_as_a_leaf():
    t = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    out = roundtrip(t)
    assert out.requires_grad is True and out.is_leaf and out.grad_fn is None
    assert out.dtype == torch.float64
    assert out.tolist() == [1.0, 2.0]
    out.sum().backward()
    assert out.grad.tolist() == [1.0, 1.0]


def test_non_leaf_result_with_grad_travels_as_a_leaf():
    x = torch.ones(2, requires_grad=True)
    out = roundtrip(x * 3)
    assert out.requires_grad is True and out.grad_fn is None
    assert out.tolist() == [3.0, 3.0]


@pytest.mark.parametrize("requires_grad", [True, False])
def test_parameter_stays_a_parameter(requires_grad):
    p = torch.nn.Parameter(torch.full((2, 3), 0.5), requires_grad=requires_grad)
    out = roundtrip(p)
    assert type(out) is torch.nn.Parameter
    assert out.requires_grad is requires_grad
    assert out.dtype == torch.float32 and tuple(out.shape) == (2, 3)
    assert out.sum().item() == 3.0


def test_non_contiguous_tensor():
    t = torch.arange(6).reshape(2, 3).T
    out = roundtrip(t)
    assert out.tolist() == [[0, 3], [1, 4], [2, 5]]
    assert out.dtype == torch.int64


def test_decoded_tensor_owns_its_memory():
    t = torch.zeros(3)
    tree, bufs = wire.encode(t)
    raw = bytearray(bufs[0])
    out = wire.decode(tree, [raw])
    raw[:4] = np.float32(5).tobytes()
    assert out.tolist() == [0.0, 0.0, 0.0]


def test_zero_d_tensor_roundtrip():
    out = roundtrip(torch.tensor(2.5))
    assert tuple(out.shape) == ()
    assert out.item() == 2.5


def test_tensor_device_map_is_applied():
    tree, bufs = wire.encode(torch.ones(2))
    tree["device"] = "cuda:3"
    seen = []
    out = wire.decode(tree, bufs, device_map=lambda d: seen.append(d) or "cpu")
    assert seen == ["cuda:3"] and out.device.type == "cpu"


def test_bfloat16_bits_travel_exactly():
    t = torch.tensor([1.0, -2.5, 3.140625, 1e30, float("inf")], dtype=torch.bfloat16)
    out = roundtrip(t)
    assert out.dtype == torch.bfloat16
    assert torch.equal(out.view(torch.int16), t.view(torch.int16))


def test_a_bfloat16_tensor_that_is_not_int16_bits_is_refused():
    tree, bufs = wire.encode(torch.ones(2, dtype=torch.bfloat16))
    forged = wire.encode(torch.ones(1, dtype=torch.float32))
    tree.update({k: forged[0][k] for k in ("dtype", "shape")})
    with pytest.raises(wire.WireError, match="int16"):
        wire.decode(tree, forged[1])


@pytest.mark.parametrize("make", [
    lambda: torch.ones(2, dtype=torch.complex64),
    lambda: torch.ones(2, 2).to_sparse(),
], ids=["complex", "sparse"])
def test_tensors_the_format_cannot_express_go_to_keep(make):
    t = make()
    kept = []
    tree, bufs = wire.encode([t], keep=lambda v: kept.append(v) or {"t": "handle", "id": 1, "type": "Tensor"})
    assert kept == [t] and bufs == []
    assert tree == {"t": "list", "v": [{"t": "handle", "id": 1, "type": "Tensor"}]}


# --------------------------------------------------------------------- things that are not data


class SneakyFloat(float):
    def __eq__(self, other):
        return True

    __hash__ = float.__hash__


class SneakyArray(np.ndarray):
    def __eq__(self, other):
        return np.ones(self.shape, bool)


class AlwaysEqual:
    def __eq__(self, other):
        return True


class SneakyInt(int):
    pass


class SneakyFloat64(np.float64):
    pass


class SneakyTensor(torch.Tensor):
    pass


NOT_DATA = {
    "float subclass": lambda: SneakyFloat(1.0),
    "int subclass": lambda: SneakyInt(3),
    "ndarray subclass": lambda: np.arange(3.0).view(SneakyArray),
    "custom __eq__": AlwaysEqual,
    "np.float64 subclass": lambda: SneakyFloat64(2.0),
    "tensor subclass": lambda: torch.ones(2).as_subclass(SneakyTensor),
    "object array": lambda: np.array([1, "a"], dtype=object),
    "str array": lambda: np.array(["abc"]),
    "structured array": lambda: np.zeros(2, dtype=[("a", "<i4"), ("b", "<f8")]),
    "datetime array": lambda: np.array(["2024-01-01"], dtype="M8[D]"),
    "set": lambda: {1, 2},
    "bytes": lambda: b"raw",
    "function": lambda: (lambda: 0),
}


@pytest.mark.parametrize("name", list(NOT_DATA))
def test_values_with_behaviour_are_not_encoded_without_keep(name):
    value = NOT_DATA[name]()
    with pytest.raises(WireError, match="cannot send a value of type"):
        wire.encode({"x": [value]})


@pytest.mark.parametrize("name", list(NOT_DATA))
def test_values_with_behaviour_go_to_keep(name):
    value = NOT_DATA[name]()
    kept = []

    def keep(v):
        kept.append(v)
        return {"t": "handle", "id": len(kept), "type": type(v).__name__}

    tree, bufs = wire.encode([1.0, value], keep=keep)
    assert len(kept) == 1 and kept[0] is value
    assert tree["v"][0] == 1.0
    assert tree["v"][1] == {"t": "handle", "id": 1, "type": type(value).__name__}
    assert bufs == []


# --------------------------------------------------------------------- hostile frames


BUF8 = [np.zeros(1).tobytes()]


@pytest.mark.parametrize(
    "node, buffers, message",
    [
        (arr_node(dtype="|O", shape=(1,)), BUF8, "may not cross"),
        (arr_node(dtype="|V8", shape=(1,)), BUF8, "may not cross"),
        (arr_node(dtype="<U3", shape=(1,)), [b"\0" * 12], "may not cross"),
        (arr_node(dtype="|S8", shape=(1,)), BUF8, "may not cross"),
        (arr_node(dtype="<M8[D]", shape=(1,)), BUF8, "may not cross"),
        (arr_node(dtype="<m8[s]", shape=(1,)), BUF8, "may not cross"),
        (arr_node(dtype="(2,)<i4", shape=(1,)), BUF8, "may not cross"),
        (arr_node(dtype="<i4,<i4", shape=(1,)), BUF8, "may not cross"),
        (arr_node(dtype="not-a-dtype", shape=(1,)), BUF8, "bad dtype"),
        (arr_node(dtype=8, shape=(1,)), BUF8, "malformed field 'dtype'"),
        (arr_node(shape=(-1,)), BUF8, "malformed shape"),
        (arr_node(shape=(1.0,)), BUF8, "malformed shape"),
        (arr_node(shape=("1",)), BUF8, "malformed shape"),
        (arr_node(shape=(True,)), BUF8, "malformed shape"),
        ({"t": "ndarray", "dtype": "<f8", "shape": 1, "buf": 0}, BUF8, "malformed shape"),
        ({"t": "ndarray", "dtype": "<f8", "shape": [1]}, BUF8, "bad buffer index"),
        (arr_node(shape=(2,)), BUF8, "does not match"),
        (arr_node(shape=(0,)), BUF8, "does not match"),
        (arr_node(dtype="<f4", shape=(1,)), BUF8, "does not match"),
        (arr_node(shape=(1,), buf=1), BUF8, "bad buffer index"),
        (arr_node(shape=(1,), buf=-1), BUF8, "bad buffer index"),
        (arr_node(shape=(1,), buf="0"), BUF8, "bad buffer index"),
        (arr_node(shape=(1,), buf=True), BUF8, "bad buffer index"),
        (arr_node(shape=(1,), buf=0), [], "bad buffer index"),
        ({"t": "eval", "v": "__import__('os')"}, [], "unknown node type 'eval'"),
        ({"v": 1}, [], "unknown node type None"),
        ({"t": "pickle", "v": "gASV"}, [], "unknown node type"),
        ([1, 2], [], "bare list"),
        ({"t": "list", "v": [[1]]}, [], "bare list"),
        ({"t": "tuple", "v": "abc"}, [], "malformed container"),
        ({"t": "dict", "v": [[1]]}, [], "malformed dict entry"),
        ({"t": "dict", "v": [1]}, [], "malformed dict entry"),
        ({"t": "dict", "v": [[{"t": "list", "v": []}, 1]]}, [], "unhashable dict key"),
        ({"t": "float", "v": "1e999x"}, [], "malformed float"),
        ({"t": "float", "v": "1.5"}, [], "malformed float"),
        ({"t": "float", "v": 1.5}, [], "malformed field 'v'"),
        ({"t": "bigint", "v": 5}, [], "malformed field 'v'"),
        ({"t": "bigint", "v": "12x"}, [], "malformed integer"),
        ({"t": "bigint", "v": "9" * 5000}, [], "malformed integer"),
        ({"t": "bigint", "v": ""}, [], "malformed integer"),
        ({"t": "bigint", "v": "1_000"}, [], "malformed integer"),
        ({**arr_node(shape=(1,)), "t": "tensor", "torch_dtype": "float64", "device": "no-such-device"}, BUF8,
         "cannot rebuild a tensor"),
        ({**arr_node(shape=(1,)), "t": "tensor", "torch_dtype": "nn", "device": "cpu"}, BUF8, "bad torch dtype"),
        ({**arr_node(shape=(1,)), "t": "tensor", "torch_dtype": "Tensor", "device": "cpu"}, BUF8,
         "bad torch dtype"),
        ({**arr_node(shape=(1,)), "t": "tensor", "torch_dtype": "float64"}, BUF8, "malformed field 'device'"),
    ],
)
def test_hostile_nodes_are_refused(node, buffers, message):
    with pytest.raises(WireError) as info:
        wire.decode(node, buffers)
    assert message in str(info.value)


def test_decoding_deeper_than_max_depth_is_refused():
    node: object = 0
    for _ in range(wire.MAX_DEPTH + 1):
        node = {"t": "list", "v": [node]}
    with pytest.raises(WireError, match="nested too deeply"):
        wire.decode(node, [])
    # One level less is accepted.
    assert wire.decode(node["v"][0], []) is not None


@pytest.mark.parametrize(
    "node, buffers",
    [
        ({"t": "bigint", "v": "--5"}, []),
        ({"t": "bigint", "v": "\u00b2"}, []),  # superscript two: str.isdigit() is True, int() refuses it
        (arr_node(shape=[1] * 100), BUF8),
        (arr_node(shape=[0, 2**70]), [b""]),
        (arr_node(dtype="i4 (2,)", shape=(1,)), BUF8),
        ({**arr_node(dtype="<i8", shape=(1,)), "t": "tensor", "torch_dtype": "int64", "device": "cpu",
          "parameter": True, "requires_grad": True}, BUF8),
    ],
    ids=["bigint-double-minus", "bigint-superscript-digit", "shape-100-dims", "shape-too-large",
         "dtype-string-valueerror", "int-parameter-requires-grad"],
)
def test_hostile_nodes_raise_wire_error_not_other_exceptions(node, buffers):
    with pytest.raises(WireError):
        wire.decode(node, buffers)


# --------------------------------------------------------------------- framing


def test_pack_layout():
    data = wire.pack({"a": 1}, [b"xyz", b""])
    head = b'{"a":1}'
    assert data == struct.pack(">II", len(head), 2) + head + struct.pack(">Q", 3) + b"xyz" + struct.pack(">Q", 0)
    assert wire.unpack(data) == ({"a": 1}, [b"xyz", b""])


def test_frame_declaring_more_bytes_than_max_is_refused():
    with pytest.raises(WireError, match="too large"):
        wire.unpack(struct.pack(">II", 2000, 0) + b"{}", max_bytes=1000)
    big = frame(b"{}", [b"a" * 600, b"b" * 600])
    with pytest.raises(WireError, match="larger than"):
        wire.unpack(big, max_bytes=1000)
    # A header that merely claims a huge buffer is refused before any read.
    claim = struct.pack(">II", 2, 1) + b"{}" + struct.pack(">Q", 2**40)
    with pytest.raises(WireError, match="larger than"):
        wire.unpack(claim)
    assert wire.unpack(frame(b"{}", [b"a" * 500]), max_bytes=1000) == ({}, [b"a" * 500])


def test_too_many_buffers_is_refused():
    with pytest.raises(WireError, match="too large"):
        wire.unpack(struct.pack(">II", 2, wire.MAX_BUFFERS + 1) + b"{}")


@pytest.mark.parametrize("head", [b"[1, 2]", b"1", b'"s"', b"null"])
def test_non_object_top_level_is_refused(head):
    with pytest.raises(WireError, match="not an object"):
        wire.unpack(frame(head))


@pytest.mark.parametrize("head", [b"{", b"{'a': 1}", b"\xff\xfe{}", b""])
def test_malformed_json_is_refused(head):
    with pytest.raises(WireError, match="malformed JSON"):
        wire.unpack(frame(head))


def test_deeply_nested_json_is_refused_with_wire_error():
    with pytest.raises(WireError):
        wire.unpack(frame(b"[" * 100_000))


def test_truncated_frame_raises_eof():
    data = wire.pack({"a": 1}, [b"12345678"])
    with pytest.raises(EOFError):
        wire.unpack(data[:-3])


def test_socketpair_send_recv_and_eof():
    a, b = socket.socketpair()
    try:
        value = {"x": np.arange(100_000, dtype=np.float64).reshape(1000, 100), "k": (1, "two", None)}
        tree, bufs = wire.encode(value)
        # 800 kB is more than a socket buffer holds: send from a thread, as a real peer would.
        sender = threading.Thread(target=wire.send, args=(a, {"value": tree, "op": "call"}, bufs))
        sender.start()
        msg, got = wire.recv(b, wire.FrameReader())
        sender.join(timeout=10)
        assert not sender.is_alive()
        assert msg["op"] == "call"
        out = wire.decode(msg["value"], got)
        assert out["k"] == (1, "two", None)
        assert out["x"].shape == (1000, 100) and out["x"][999, 99] == 99_999.0
        # A half-sent frame followed by a close is an EOF, not a hang.
        a.sendall(wire.pack({"b": 2})[:5])
        a.close()
        with pytest.raises(EOFError):
            wire.recv(b, wire.FrameReader())
    finally:
        a.close()
        b.close()


def test_recv_on_closed_peer_raises_eof():
    a, b = socket.socketpair()
    a.close()
    try:
        with pytest.raises(EOFError):
            wire.recv(b, wire.FrameReader())
    finally:
        b.close()
