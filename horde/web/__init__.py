"""See docs/dev/contracts.md and shared DESIGN.md for this package's place."""
