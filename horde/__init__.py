"""horde: distributed load testing in plain Python."""

from horde._version import __version__

__all__ = ["__version__"]
