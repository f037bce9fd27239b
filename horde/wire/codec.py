"""Frames <-> messages: a 3-byte header, then the message as msgpack.

Frame layout: ``b"hd"`` (magic), one byte `PROTOCOL_VERSION`, msgpack body.

Invariants:

* `encode` accepts any message of `horde.wire.messages`; the decoders return
  one of them or raise `horde.errors.ProtocolError`, and nothing else, for any
  input whatsoever (wrong magic, other version, truncated or random bytes,
  valid msgpack of the wrong shape, values out of range);
* a frame of another protocol version is still read if it is a handshake
  message (`Hello` or `Refuse`, whose schema never changes), so the two sides
  can refuse each other in words; its ``protocol`` field says which version
  the peer speaks. Any other message of another version is a ProtocolError;
* the direction-specific decoders (`decode_from_worker` on the master,
  `decode_from_master` on a worker) also reject messages that only travel the
  other way.

The decoders are module constants: msgspec decoders hold no state between calls.
"""

from __future__ import annotations

from typing import Any, Generic, TypeVar, Union

import msgspec

from horde.errors import ProtocolError
from horde.wire.messages import (
    ArrivalReport,
    FilesAck,
    FilesBundle,
    Goodbye,
    Hello,
    MasterHeartbeat,
    MessageToMaster,
    MessageToWorker,
    Quit,
    Refuse,
    Start,
    StateChanged,
    StatsReport,
    Stop,
    Update,
    Welcome,
    WorkerError,
    WorkerHeartbeat,
)

__all__ = [
    "PROTOCOL_VERSION",
    "MAGIC",
    "Message",
    "MasterBound",
    "WorkerBound",
    "encode",
    "decode",
    "decode_from_worker",
    "decode_from_master",
    "peek_version",
]

PROTOCOL_VERSION = 2  # 2: StatsReport counters in column form
"""Bump on any incompatible change of a message other than the handshake."""

MAGIC = b"hd"
_HEADER = MAGIC + bytes([PROTOCOL_VERSION])
_HEADER_LEN = len(_HEADER)

MasterBound = Union[  # noqa: UP007 -- msgspec needs a runtime Union object here
    Hello, FilesAck, WorkerHeartbeat, StateChanged, StatsReport, WorkerError, Goodbye,
    ArrivalReport, MessageToMaster,
]
"""Messages a worker sends to the master."""

WorkerBound = Union[  # noqa: UP007
    Welcome, Refuse, FilesBundle, Start, Update, Stop, Quit, MasterHeartbeat, MessageToWorker
]
"""Messages the master sends to a worker."""

Message = Union[MasterBound, WorkerBound]  # noqa: UP007
"""Any message."""

M = TypeVar("M")

_encoder = msgspec.msgpack.Encoder()


def encode(msg: Message) -> bytes:
    """The frame for ``msg``."""
    return _HEADER + _encoder.encode(msg)


def peek_version(frame: bytes | bytearray | memoryview) -> int | None:
    """The protocol version a frame claims, or None if it is not a horde frame."""
    view = memoryview(frame)
    if len(view) < _HEADER_LEN or bytes(view[:2]) != MAGIC:
        return None
    return int(view[2])


class _FrameDecoder(Generic[M]):
    """Decode frames into the union ``kind``; other versions only into ``handshake``."""

    __slots__ = ("_current", "_handshake")

    def __init__(self, kind: Any, handshake: Any) -> None:
        self._current: msgspec.msgpack.Decoder[M] = msgspec.msgpack.Decoder(kind)
        self._handshake: msgspec.msgpack.Decoder[M] = msgspec.msgpack.Decoder(handshake)

    def __call__(self, frame: bytes | bytearray | memoryview) -> M:
        try:
            view = memoryview(frame)
        except TypeError as exc:
            raise ProtocolError(f"not a byte frame: {type(frame).__name__}") from exc
        version = peek_version(view)
        if version is None:
            raise ProtocolError("not a horde frame (bad magic or too short)")
        body = view[_HEADER_LEN:]
        if version == PROTOCOL_VERSION:
            return self._decode(self._current, body)
        try:
            return self._handshake.decode(body)
        except (msgspec.DecodeError, ValueError, TypeError, RecursionError) as exc:
            raise ProtocolError(
                f"peer speaks wire protocol {version}, this side speaks {PROTOCOL_VERSION}"
            ) from exc

    @staticmethod
    def _decode(decoder: msgspec.msgpack.Decoder[M], body: memoryview) -> M:
        try:
            return decoder.decode(body)
        except msgspec.ValidationError as exc:
            raise ProtocolError(f"invalid message: {exc}") from exc
        # DecodeError: not msgpack at all. The others are belt and braces: msgspec
        # documents only DecodeError, and a peer's bytes must never crash us.
        except (msgspec.DecodeError, ValueError, TypeError, RecursionError) as exc:
            raise ProtocolError(f"undecodable frame: {exc}") from exc


_any = _FrameDecoder[Message](Message, Union[Hello, Refuse])  # noqa: UP007
_from_worker = _FrameDecoder[MasterBound](MasterBound, Hello)
_from_master = _FrameDecoder[WorkerBound](WorkerBound, Refuse)


def decode(frame: bytes | bytearray | memoryview) -> Message:
    """Any message, or ProtocolError."""
    return _any(frame)


def decode_from_worker(frame: bytes | bytearray | memoryview) -> MasterBound:
    """A message a worker may send (used by the master), or ProtocolError."""
    return _from_worker(frame)


def decode_from_master(frame: bytes | bytearray | memoryview) -> WorkerBound:
    """A message the master may send (used by a worker), or ProtocolError."""
    return _from_master(frame)
