"""``python -m fleet``: the ``fleet`` command (how the server starts its processing child)."""

from fleet.cli import main

if __name__ == "__main__":
    main()
