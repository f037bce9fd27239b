"""One message whose handling raises drops that message only, never the master's receive loop.

A real `MasterRunner` on a real channel, a real `WorkerChannel` on loopback.
The handler fails for one heartbeat (as `int(inf * 1000)` once did, when the
decoder let inf through); the next messages are still heard.
"""

from __future__ import annotations

import asyncio
import os

from horde.events import Events
from horde.net import MasterChannel, WorkerChannel
from horde.runtime.local import RunOptions
from horde.runtime.master import MasterRunner
from horde.wire import (
    PROTOCOL_VERSION,
    Hello,
    MasterBound,
    WorkerHeartbeat,
    bundle_from_contents,
)

STEP = 10.0


class _Fragile(MasterRunner):
    def _handle(self, wid: str, msg: MasterBound) -> None:
        if isinstance(msg, WorkerHeartbeat) and msg.seq == 13:
            raise OverflowError("cannot convert float infinity to integer")
        super()._handle(wid, msg)


def test_a_raising_message_is_dropped_and_the_loop_goes_on() -> None:
    async def main() -> None:
        bundle = bundle_from_contents({"h.py": b"# empty\n"}, "h.py")
        async with MasterChannel("127.0.0.1", 0) as channel:
            runner = _Fragile([], RunOptions(), Events(), channel, bundle)
            runner.serve()
            worker = WorkerChannel("w", "127.0.0.1", channel.port)
            await worker.start()
            try:
                hello = Hello("w", "h", os.getpid(), runner_version(), PROTOCOL_VERSION, 1,
                              {"h.py": bundle.files[0].sha256})
                for _ in range(500):
                    if worker.send(hello):
                        break
                    await asyncio.sleep(0.01)
                for _ in range(500):  # polling the fleet, not a guessed wait
                    if runner.fleet.active():
                        break
                    await asyncio.sleep(0.02)
                record = runner.fleet.active()[0]
                for seq, users in ((13, 1), (14, 7)):
                    worker.send(WorkerHeartbeat("running", users, 1.0, 1.0, 1, seq))
                for _ in range(500):
                    if record.users == 7:
                        break
                    await asyncio.sleep(0.02)
                assert record.users == 7  # heard after the failing one
                assert runner.failed_messages == 1
            finally:
                worker.close()
                runner.close()

    asyncio.run(main())


def runner_version() -> str:
    from horde._version import __version__

    return __version__
