"""Demo and test targets for horde: HTTP servers that count what they answer.

* `horde.demo.app` -- a shop-like API with realistic latencies (the target of
  ``horde demo`` and of the examples), and the ``python -m horde.demo.app``
  command that serves it (or, with ``--app plain``, `horde.demo.plain`);
* `horde.demo.plain` -- deterministic routes for exact counting tests;
* `horde.demo.counts` -- the counting middleware behind ``GET /__counts``;
* `horde.demo.serve` -- starting an app on a port;
* `horde.demo.hordefile` -- the horde script bundled with the demo.

Nothing is imported here, so ``python -m horde.demo.app`` runs the module once
and importing the package costs nothing (aiohttp is loaded only when used).
Layering: this package sits outside the runtime's layers; only the CLI's demo
command may import it, and it imports nothing of horde but `horde.errors`
(the bundled script imports the public `horde` API, like any script).
"""

__all__: list[str] = []
