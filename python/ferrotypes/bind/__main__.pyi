# Types of `python -m ferrotypes.bind`.

from collections.abc import Sequence

def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line ``argv`` (default: ``sys.argv[1:]``); the exit status."""
