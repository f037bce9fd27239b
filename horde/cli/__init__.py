"""See docs/dev/contracts.md and docs/dev/design.md for this package's place."""
