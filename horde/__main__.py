"""`python -m horde` is the `horde` command."""

from horde.cli.main import main

main()
