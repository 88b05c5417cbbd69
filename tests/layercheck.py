"""The layer rule of the extension crate, read from its source: every file belongs to
a layer (the folder it is in), a file may use only files of its own layer or of
layers below it, and no files use each other in a cycle.

The edges are read as text, not compiled: every `use` item (`crate::`, `super::`,
`self::` and a child module's name), and every `crate::a::b` or `super::a` path
written inline, outside comments. A path is resolved to the file of the longest
module prefix that exists (`crate::data::cdata::CData` is `data/cdata.rs`).

`LAYERS` below is the one place the order is declared, lowest first.
"""

from __future__ import annotations

import pathlib
import re
from dataclasses import dataclass

#: The layers of `crates/ferrotypes-python/src`, lowest first: a folder (its files,
#: not those of its sub-folders that are layers of their own) or a single file.
LAYERS = [
    "support",        # errors, the GIL cell, errno, borrowed buffers, scalar conversions
    "types",          # the class info (ctypes' StgInfo), described by plain data
    "data",           # the C data base object: memory, keep-alive, instances, values
    "data/families",  # simple, array, pointer, record (and its fields): one a file
    "call",           # argument conversion, zero-copy, ndpointer, paramflags, untyped calls
    "callback",       # callbacks: C function pointers made from Python callables
    "function",       # the function-pointer object
    "module",         # module-level functions over all of the above
    "lib.rs",         # registers everything; nothing else
]

_RUST_ROOTS = {"std", "core", "alloc", "pyo3", "libc", "ferrotypes_core"}


@dataclass(frozen=True, order=True)
class Edge:
    source: str  # file, relative to the crate's src
    target: str

    def __str__(self) -> str:
        return f"{self.source} -> {self.target}"


@dataclass
class Report:
    upward: list[tuple[Edge, str, str]]  # edge, source layer, target layer
    cycles: list[list[str]]              # each a list of files that use each other
    cycle_edges: list[Edge]              # the edges inside those cycles
    unlayered: list[str]                 # files in no declared layer

    def problems(self) -> list[str]:
        lines = [f"upward import: {edge} (layer {low} uses layer {high})" for edge, low, high in self.upward]
        lines += [f"cycle between files: {' <-> '.join(files)}" for files in self.cycles]
        lines += [f"in a cycle: {edge}" for edge in self.cycle_edges]
        lines += [f"file in no layer: {path}" for path in self.unlayered]
        return lines


def layer_of(path: str, layers: list[str]) -> str | None:
    """The layer a file (path relative to src) belongs to: the longest folder layer
    containing it, or the file itself when it is declared as a layer."""
    if path in layers:
        return path
    best = None
    for layer in layers:
        if path.startswith(layer + "/") and (best is None or len(layer) > len(best)):
            best = layer
    return best


def module_files(src: pathlib.Path) -> dict[tuple[str, ...], str]:
    """Module path (as segments after `crate`) -> file relative to src."""
    files = {}
    for path in sorted(src.rglob("*.rs")):
        rel = path.relative_to(src).as_posix()
        parts = rel[:-3].split("/")
        if parts == ["lib"]:
            parts = []
        elif parts[-1] == "mod":
            parts = parts[:-1]
        files[tuple(parts)] = rel
    return files


_NOT_CODE = re.compile(r"""//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])'""", re.S)


def _code_only(text: str) -> str:
    """`text` without comments, and with string and character literals emptied."""
    return _NOT_CODE.sub(lambda m: '""' if m.group(0).startswith('"') else " ", text)


def _expand_use_tree(tree: str) -> list[list[str]]:
    """`a::{b, c::{d, e}}` -> [[a, b], [a, c, d], [a, c, e]] (renames and globs cut)."""
    tree = re.sub(r"\s+", "", tree)
    paths: list[list[str]] = []

    def walk(text: str, prefix: list[str]) -> None:
        brace = text.find("{")
        if brace < 0:
            name = text.split(" as ")[0]
            segments = [s for s in re.sub(r"as[A-Za-z_]\w*$", "", name).split("::") if s and s != "*"]
            paths.append(prefix + segments)
            return
        head = [s for s in text[:brace].split("::") if s]
        body = text[brace + 1:text.rindex("}")]
        depth, start = 0, 0
        for i, ch in enumerate(body + ","):
            if ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
            elif ch == "," and depth == 0:
                item = body[start:i]
                start = i + 1
                if item == "self":
                    paths.append(prefix + head)
                elif item:
                    walk(item, prefix + head)

    walk(tree, [])
    return paths


def _resolve(segments: list[str], here: tuple[str, ...], modules: dict[tuple[str, ...], str]) -> str | None:
    """The file a path names, from the module `here`; None outside the crate."""
    if not segments:
        return None
    head, rest = segments[0], segments[1:]
    if head == "crate":
        base: tuple[str, ...] = ()
    elif head == "self":
        base = here
    elif head == "super":
        base = here[:-1]
        while rest and rest[0] == "super":
            base, rest = base[:-1], rest[1:]
    elif here + (head,) in modules:  # a child module named directly
        base, rest = here + (head,), rest
    else:
        return None
    path = list(base)
    best = modules.get(tuple(path))
    for segment in rest:
        path.append(segment)
        if tuple(path) in modules:
            best = modules[tuple(path)]
        else:
            break
    return best


def edges(src: pathlib.Path) -> set[Edge]:
    """Every file-to-file use in the crate at `src`."""
    modules = module_files(src)
    found = set()
    for here, rel in modules.items():
        text = _code_only((src / rel).read_text())
        named: list[list[str]] = []
        for match in re.finditer(r"\buse\s+([^;]+);", text):
            tree = match.group(1)
            if tree.split("::")[0].strip() in _RUST_ROOTS:
                continue
            named += _expand_use_tree(tree)
        for match in re.finditer(r"\b((?:crate|super)(?:::\w+)+)", text):
            named.append(match.group(1).split("::"))
        for segments in named:
            target = _resolve(segments, here, modules)
            if target is not None and target != rel and not _declares(rel, target):
                found.add(Edge(rel, target))
    return found


def _declares(source: str, target: str) -> bool:
    """Whether `source` is the module file that declares `target` (a parent's `mod`
    line and its re-use of a child are not a dependency of the parent's layer)."""
    parent = source.rsplit("/", 1)[0] if "/" in source else ""
    if source == "lib.rs":
        return False  # lib.rs is the top layer: its uses are checked like any other
    if not source.endswith("mod.rs"):
        return False
    return target.startswith(parent + "/")


def check(src: pathlib.Path, layers: list[str] = LAYERS) -> Report:
    """The layer rule's violations in the crate at `src`."""
    all_edges = edges(src)
    files = sorted(module_files(src).values())
    rank = {layer: i for i, layer in enumerate(layers)}
    upward = []
    for edge in sorted(all_edges):
        low, high = layer_of(edge.source, layers), layer_of(edge.target, layers)
        if low is not None and high is not None and rank[high] > rank[low]:
            upward.append((edge, low, high))
    unlayered = [f for f in files if layer_of(f, layers) is None]
    cycles = _strongly_connected(files, all_edges)
    in_cycle = {f: i for i, group in enumerate(cycles) for f in group}
    cycle_edges = sorted(e for e in all_edges if e.source in in_cycle and in_cycle.get(e.target) == in_cycle[e.source])
    return Report(upward, cycles, cycle_edges, unlayered)


def _strongly_connected(files: list[str], all_edges: set[Edge]) -> list[list[str]]:
    """The groups of two or more files that reach each other (Tarjan's algorithm)."""
    graph: dict[str, list[str]] = {f: [] for f in files}
    for edge in all_edges:
        graph.setdefault(edge.source, []).append(edge.target)
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups = []
    counter = 0

    def visit(node: str) -> None:
        nonlocal counter
        index[node] = low[node] = counter
        counter += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, [])):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.append(top)
                if top == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(groups)
