"""The message format between the grader and the sandboxed student process.

Both sides import this file (it is the only grader code the sandbox sees
besides runner.py). A message is a 4-byte length, a JSON header, then the raw
bytes of every numpy array in it. Nothing is pickled: the grader only ever
rebuilds plain values (None, bool, int, float, complex, str, tuples, lists,
dicts with str keys, slices and numpy arrays of numbers, booleans or
strings), so an object whose `==` is always true cannot cross.

Callables cannot cross either: a function passed to the other side becomes a
numbered stub, and calling the stub sends a "callback" message back to the
side that owns the function.
"""
from __future__ import annotations

import json
import os
import select
import struct
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

HEADER = struct.Struct(">I")
MAX_MESSAGE_BYTES = 512 * 2**20
MAX_DEPTH = 32
ARRAY_KINDS = "biufcU"  # bool, int, uint, float, complex, unicode: never object or void


class WireError(Exception):
    """A message that is malformed, too large or of an unsupported type."""


class Unsupported(WireError):
    """A value that cannot cross (the text says what it was)."""


def encode(value: object, buffers: list[bytes], callables: list[Callable[..., Any]] | None, depth: int = 0,
           aliases: Mapping[int, int] | None = None) -> Any:
    """Turn a value into a JSON-able tree; arrays go to `buffers`, callables to `callables`.

    aliases: {id(array): number} of arrays the receiver already holds (the
    arguments of a call): those go as a reference, {"alias": number}.

    Subclasses of the plain types travel as the plain type (a namedtuple as a
    tuple, an ndarray subclass as an ndarray): their data crosses, their
    methods (an `__eq__` that is always true) do not. Encoding runs on the
    sending side only; what the receiver trusts is `decode`.
    """
    if depth > MAX_DEPTH:
        raise Unsupported("the value is nested too deeply")
    if value is None or type(value) in (bool, str, int, float):
        return value
    if aliases and isinstance(value, np.ndarray) and id(value) in aliases:
        return {"alias": aliases[id(value)]}
    if isinstance(value, np.generic) or isinstance(value, np.ndarray):
        array = np.asarray(value).view(np.ndarray) if isinstance(value, np.ndarray) else np.asarray(value)
        if array.dtype.kind == "O":
            array = numeric_array(array)
        if array.dtype.kind not in ARRAY_KINDS:
            raise Unsupported(f"an array of dtype {array.dtype} (only numbers, booleans and strings)")
        buffers.append(array.tobytes(order="C"))
        return {"array": len(buffers) - 1, "dtype": array.dtype.str, "shape": list(array.shape),
                "scalar": isinstance(value, np.generic)}
    if type(value) is complex:
        return {"complex": [value.real, value.imag]}
    if type(value) is tuple:
        return {"tuple": [encode(item, buffers, callables, depth + 1, aliases) for item in value]}
    if type(value) is list:
        return {"list": [encode(item, buffers, callables, depth + 1, aliases) for item in value]}
    if type(value) is dict:
        if not all(type(key) is str for key in value):
            raise Unsupported("a dict whose keys are not all strings")
        return {"dict": [[key, encode(item, buffers, callables, depth + 1, aliases)] for key, item in value.items()]}
    if type(value) is slice:
        return {"slice": [encode(part, buffers, callables, depth + 1)
                          for part in (value.start, value.stop, value.step)]}
    if callable(value) and callables is not None:
        callables.append(value)
        return {"callable": len(callables) - 1}
    for plain in (bool, int, float, complex, str, tuple, list, dict):
        if isinstance(value, plain):  # a subclass: send the plain value it holds
            return encode(_plain(plain, value), buffers, callables, depth + 1, aliases)
    raise Unsupported(f"an object of type {type(value).__name__}")


NUMBER_TYPES = (bool, int, float, complex, np.bool_, np.integer, np.floating, np.complexfloating)


def numeric_array(array: np.ndarray) -> np.ndarray:
    """An object array whose every element is a plain number (an answer built from a list
    of Python floats with dtype=object), as the numeric array it stands for; anything else
    in it (an object of another type, a subclass of a number) is refused."""
    items = array.ravel().tolist()
    for item in items:
        if not (type(item) in (bool, int, float, complex) or
                (isinstance(item, np.generic) and isinstance(item, NUMBER_TYPES))):
            raise Unsupported(f"an object array holding a {type(item).__name__} (only numbers cross)")
    numeric = np.array(items if items else [], dtype=None if items else float).reshape(array.shape)
    if numeric.dtype.kind not in "biufc":  # e.g. integers too large for any integer dtype
        raise Unsupported(f"an object array whose numbers have no numeric dtype ({numeric.dtype})")
    return numeric


def _plain(kind, value):
    """The plain value inside an instance of a subclass of `kind`, read with the base type's
    own methods (a subclass may override __iter__, __float__ or __str__)."""
    if kind is dict:
        return {key: item for key, item in dict.items(value)}
    if kind in (tuple, list):
        return kind(kind.__iter__(value))
    if kind is str:
        return str.__str__(value)
    if kind is complex:
        return complex(complex.__getattribute__(value, "real"), complex.__getattribute__(value, "imag"))
    return {bool: bool, int: int.__int__, float: float.__float__}[kind](value)


def decode(tree: Any, buffers: Sequence[bytes], make_stub: Callable[[int], Any] | None = None,
           aliases: Sequence[Any] | None = None) -> Any:
    """Rebuild a value from `encode`'s tree; stubs for callables come from make_stub(number),
    {"alias": i} is aliases[i] (no aliases: refused).

    Whatever the other side sent, the result is plain values (or the receiver's own
    arrays, by alias) or a WireError.
    """
    try:
        return _decode(tree, buffers, make_stub, aliases, 0)
    except WireError:
        raise
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, RecursionError) as error:
        raise WireError(f"malformed value ({type(error).__name__}: {str(error)[:200]})") from None


def _decode(tree, buffers, make_stub, aliases, depth):
    if depth > MAX_DEPTH:
        raise WireError("the value is nested too deeply")
    if tree is None or isinstance(tree, (bool, int, float, str)):
        return tree
    if not isinstance(tree, dict) or len(tree) == 0:
        raise WireError("malformed value")
    if "alias" in tree:
        if aliases is None:
            raise WireError("an alias where none is expected")
        return aliases[int(tree["alias"])]
    if "array" in tree:
        dtype = np.dtype(tree["dtype"])
        if dtype.kind not in ARRAY_KINDS:
            raise WireError(f"refused an array of dtype {dtype}")
        shape = tuple(int(n) for n in tree["shape"])
        array = np.frombuffer(buffers[int(tree["array"])], dtype=dtype).reshape(shape).copy()
        return array[()] if tree.get("scalar") else array
    if "complex" in tree:
        real, imag = tree["complex"]
        return complex(float(real), float(imag))
    if "tuple" in tree:
        return tuple(_decode(item, buffers, make_stub, aliases, depth + 1) for item in tree["tuple"])
    if "list" in tree:
        return [_decode(item, buffers, make_stub, aliases, depth + 1) for item in tree["list"]]
    if "dict" in tree:
        return {str(key): _decode(item, buffers, make_stub, aliases, depth + 1) for key, item in tree["dict"]}
    if "slice" in tree:
        return slice(*(_decode(part, buffers, make_stub, aliases, depth + 1) for part in tree["slice"]))
    if "callable" in tree and make_stub is not None:
        return make_stub(int(tree["callable"]))
    raise WireError("malformed value")


def pack(message: Mapping[str, Any], buffers: Sequence[bytes] = ()) -> bytes:
    """Bytes for one message: header length, JSON header (with buffer sizes), buffers."""
    message = dict(message, buffers=[len(b) for b in buffers])
    header = json.dumps(message, allow_nan=True).encode("utf-8")
    return b"".join([HEADER.pack(len(header)), header, *buffers])


def unpack_header(raw: bytes) -> tuple[dict[str, Any], list[int]]:
    try:
        message = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as error:  # nested too deep: RecursionError
        raise WireError(f"malformed message header ({type(error).__name__}: {str(error)[:200]})")
    if not isinstance(message, dict) or not isinstance(message.get("buffers"), list):
        raise WireError("malformed message header")
    sizes = message["buffers"]
    if not all(isinstance(n, int) and n >= 0 for n in sizes) or sum(sizes) > MAX_MESSAGE_BYTES:
        raise WireError("message buffers are malformed or too large")
    return message, sizes


class Channel:
    """Framed messages over a pair of file descriptors.

    `receive(deadline)` raises TimeoutError when the deadline (time.monotonic)
    passes and EOFError when the other side closed its end (it died).
    """

    def __init__(self, read_fd: int, write_fd: int) -> None:
        self.read_fd, self.write_fd = read_fd, write_fd

    def send(self, message: Mapping[str, Any], buffers: Sequence[bytes] = ()) -> None:
        self.send_packed(pack(message, buffers))

    def send_packed(self, packed: bytes) -> None:
        """Write one message made by `pack`."""
        data = memoryview(packed)
        while data:
            written = os.write(self.write_fd, data)
            data = data[written:]

    def _read_exactly(self, count, deadline):
        chunks, missing = [], count
        while missing:
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0 or not select.select([self.read_fd], [], [], left)[0]:
                    raise TimeoutError
            chunk = os.read(self.read_fd, min(missing, 1 << 20))
            if not chunk:
                raise EOFError
            chunks.append(chunk)
            missing -= len(chunk)
        return b"".join(chunks)

    def receive(self, deadline: float | None = None) -> tuple[dict[str, Any], list[bytes]]:
        (length,) = HEADER.unpack(self._read_exactly(HEADER.size, deadline))
        if length > 16 * 2**20:
            raise WireError("message header too large")
        message, sizes = unpack_header(self._read_exactly(length, deadline))
        buffers = [self._read_exactly(size, deadline) for size in sizes]
        return message, buffers
