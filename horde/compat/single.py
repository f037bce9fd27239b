"""`run_single_user(UserClass)`: one user in this process, for debugging a script.

Locust scripts call it under `if __name__ == "__main__":`, so it runs with
`python script.py` and never under the horde CLI. It runs one user of the
class until Ctrl-C (or until the user stops by itself), printing each request.
"""

from __future__ import annotations

import logging
from typing import Any

__all__ = ["run_single_user"]


def run_single_user(user_class: type, include_length: bool = False,
                    include_time: bool = False, include_context: bool = False,
                    include_payload: bool = False, loglevel: str | None = "WARNING") -> None:
    from horde.compat.env import Environment

    if loglevel:
        logging.basicConfig(level=loglevel)
    env = Environment(user_classes=[user_class], host=getattr(user_class, "host", None))

    def show(request_type: str, name: str, response_time: float, response_length: int,
             exception: Any = None, context: Any = None, **_: Any) -> None:
        parts = [request_type, name]
        if include_length:
            parts.append(str(response_length))
        if include_time:
            parts.append(f"{response_time:.0f} ms")
        if include_context:
            parts.append(repr(context))
        parts.append("" if exception is None else str(exception))
        print("\t".join(parts).rstrip())

    env.events.request.add_listener(show)
    runner = env.create_local_runner()
    env.events.init.fire(environment=env, runner=runner, web_ui=None)
    runner.start(1, 1)
    try:
        env.run_until(_user_gone(runner))
    except KeyboardInterrupt:
        pass
    finally:
        runner.quit()
        runner.wait()
        env.close()


async def _user_gone(runner: Any) -> None:
    """Until the one user has started and stopped again (StopUser, or its tasks ended)."""
    import asyncio

    # The runner has states, not a "user ended" signal: look a few times a second.
    while runner.user_count == 0 and runner.state in ("ready", "spawning"):
        await asyncio.sleep(0.05)
    while runner.user_count > 0:
        await asyncio.sleep(0.05)
