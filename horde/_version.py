"""The one place the version lives; the wire protocol checks it too."""

__version__ = "0.1.0"
