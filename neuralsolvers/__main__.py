"""``python -m neuralsolvers``: the same as the ``neuralsolvers`` command."""

from neuralsolvers.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
