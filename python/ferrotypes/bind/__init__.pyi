# Types of ferrotypes.bind: bindings generated from a header, as files.

from collections.abc import Callable, Mapping, Sequence
from os import PathLike

from ferrotypes import CDLL

__all__ = ["Bindings", "generate", "write_bindings"]

class Bindings:
    """A generated binding: ``module`` (the ``.py`` text), ``stub`` (the ``.pyi`` text),
    ``skipped`` (``{name: reason}``), ``counts`` (what was bound, by kind),
    ``records`` (``{class name in the module: C name}``) and ``renamed``
    (``{C name: name in the module}``)."""

    module: str
    stub: str
    skipped: dict[str, str]
    counts: dict[str, int]
    records: dict[str, str]
    renamed: dict[str, str]
    def __init__(
        self, module: str, stub: str, skipped: dict[str, str], counts: dict[str, int],
        records: dict[str, str], renamed: dict[str, str],
    ) -> None: ...

def generate(
    header: str,
    lib: str | CDLL | Sequence[str | CDLL] | None = None,
    *,
    include_dirs: Sequence[str] = (),
    defines: Mapping[str, str | int | None] | None = None,
    cc: str | None = None,
    command: str | None = None,
    progress: Callable[[str], object] | None = None,
) -> Bindings:
    """The bindings of ``header`` (as ``ferrotypes.include`` reads it) for ``lib``."""

def write_bindings(path: str | PathLike[str], bindings: Bindings) -> tuple[str, str]:
    """Writes ``bindings`` to ``path`` (``.py``) and its ``.pyi``, each through a
    temporary file renamed into place; returns both paths."""
