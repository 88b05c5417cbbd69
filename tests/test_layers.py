"""The extension crate keeps its layers: no file uses a file of a higher layer, and no
files use each other in a cycle (the rule and the layer order: `layercheck.py`)."""

from __future__ import annotations

import pathlib
import textwrap

import layercheck

SRC = pathlib.Path(__file__).resolve().parent.parent / "crates" / "ferrotypes-python" / "src"


def test_the_crate_keeps_its_layers():
    problems = layercheck.check(SRC).problems()
    assert problems == [], "\n" + "\n".join(problems)


def test_every_layer_exists():
    for layer in layercheck.LAYERS:
        assert (SRC / layer).exists(), f"{layer} is declared a layer but is not in the crate"


def test_the_edges_are_found():
    # A few edges the crate certainly has, read the ways the crate writes them.
    found = {str(e) for e in layercheck.edges(SRC)}
    assert "types/typeinfo.rs -> support/gil_cell.rs" in found          # use crate::a::b::C;
    assert "lib.rs -> data/registry.rs" in found                        # use a::{b, c}; from lib.rs
    assert "data/families/record.rs -> data/families/field.rs" in found  # use crate::a::b::{self, C}
    assert any(e.startswith("data/") and e.endswith("-> support/scalar.rs") for e in found)


def _crate(tmp_path: pathlib.Path, files: dict[str, str]) -> pathlib.Path:
    for rel, text in files.items():
        path = tmp_path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return tmp_path


LOW_HIGH = ["low", "high", "lib.rs"]


def test_an_upward_import_and_a_cycle_are_reported(tmp_path):
    src = _crate(tmp_path, {
        "lib.rs": "mod low;\nmod high;\n",
        "low/mod.rs": "pub mod a;\npub mod b;\n",
        "low/a.rs": """
            use crate::low::b::Thing;
            // use crate::high::c;  (a comment is not an edge)
            const S: &str = "crate::high::c::X"; // nor is a string
            fn f() { let _ = crate::high::c::make(); }
        """,
        "low/b.rs": "use super::{a::helper, b as _};\n",
        "high/mod.rs": "pub mod c;\n",
        "high/c.rs": "use crate::low::{a, b::Thing};\n",
    })
    report = layercheck.check(src, LOW_HIGH)
    assert [str(edge) for edge, _, _ in report.upward] == ["low/a.rs -> high/c.rs"]
    assert report.cycles == [["high/c.rs", "low/a.rs", "low/b.rs"]]
    problems = "\n".join(report.problems())
    assert "upward import: low/a.rs -> high/c.rs (layer low uses layer high)" in problems
    assert "in a cycle: low/b.rs -> low/a.rs" in problems


def test_a_clean_crate_passes_and_an_unlayered_file_is_named(tmp_path):
    src = _crate(tmp_path, {
        "lib.rs": "mod low;\nmod high;\nmod stray;\nuse high::c;\n",
        "low/mod.rs": "pub mod a;\n",
        "low/a.rs": "pub fn helper() {}\n",
        "high/mod.rs": "pub mod c;\n",
        "high/c.rs": "use crate::low::a::helper;\nfn g() { super::super::low::a::helper() }\n",
        "stray.rs": "",
    })
    report = layercheck.check(src, LOW_HIGH)
    assert report.upward == [] and report.cycles == []
    assert report.unlayered == ["stray.rs"]
    assert {str(e) for e in layercheck.edges(src)} == {"lib.rs -> high/c.rs", "high/c.rs -> low/a.rs"}
