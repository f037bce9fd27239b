"""A test script's own values on the wire: any msgpack value, as bounded bytes.

Locust scripts send plain data between master and workers (`send_message`,
`report_to_master`): dicts, lists, strings, numbers. They travel as msgpack
bytes inside the typed messages (`MessageToMaster`, `MessageToWorker`,
`StatsReport.extra`), so the runtime carries them without decoding; the side
that hands them to the script decodes them (`unpack`).

Invariants: `pack` gives bytes within ``limit`` or raises `UsageError` (the
script's mistake, said in one sentence); `unpack` returns a value or raises
`ProtocolError`, never anything else, for any bytes (a hostile peer's
included: nesting too deep, truncated, not msgpack).
"""

from __future__ import annotations

from typing import Any

import msgspec

from horde.errors import ProtocolError, UsageError

__all__ = ["pack", "unpack"]

_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder()


def pack(value: Any, limit: int, what: str = "message data") -> bytes:
    """``value`` as msgpack; UsageError when it is not plain data or is over ``limit`` bytes."""
    try:
        data = _encoder.encode(value)
    except (TypeError, ValueError, OverflowError, RecursionError) as exc:
        raise UsageError(f"{what} must be plain data (dict, list, str, number, bool, None): "
                         f"{exc}") from None
    if len(data) > limit:
        raise UsageError(f"{what} is {len(data):,} bytes as msgpack, over the {limit:,} "
                         "bytes one message may carry")
    return data


def unpack(data: bytes) -> Any:
    """The value ``data`` holds, or ProtocolError."""
    try:
        return _decoder.decode(data)
    except (msgspec.DecodeError, ValueError, TypeError, RecursionError) as exc:
        raise ProtocolError(f"undecodable script data: {exc}") from None
