"""The master <-> worker transport over ZeroMQ; the only package that imports zmq.

Layer 1. `MasterChannel` (ROUTER, bind) and `WorkerChannel` (DEALER, connect)
carry `horde.wire` messages; malformed frames are dropped and logged, sends
never block, and CURVE keys (`CurveKeys`) encrypt and authenticate when set.
"""

from horde.net.keys import (
    CurveKeys,
    load_keypair,
    load_public_key,
    load_public_keys,
    new_keypair,
    write_fleet_keys,
)
from horde.net.master import MAX_FRAME_FROM_WORKER, MasterChannel
from horde.net.sockets import DEFAULT_PORT, tcp_endpoint
from horde.net.worker import MAX_FRAME_FROM_MASTER, WorkerChannel

__all__ = [
    "MasterChannel",
    "WorkerChannel",
    "CurveKeys",
    "load_keypair",
    "load_public_key",
    "load_public_keys",
    "new_keypair",
    "write_fleet_keys",
    "DEFAULT_PORT",
    "MAX_FRAME_FROM_WORKER",
    "MAX_FRAME_FROM_MASTER",
    "tcp_endpoint",
]
