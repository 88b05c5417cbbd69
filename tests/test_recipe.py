"""The call recipe's worked examples: each example at the top of
crates/ferrotypes-python/src/call/recipe.rs (a C function of the test library, its
argtypes and restype, and the recipe) is what ``f._recipe`` gives for that function
here; and a recipe follows its signature when argtypes and restype change."""

import pathlib
import re

import pytest

import ferrotypes

RECIPE_SOURCE = pathlib.Path(__file__).parent.parent / "crates" / "ferrotypes-python" / "src" / "call" / "recipe.rs"


class Point(ferrotypes.Structure):
    """ft_point of tests/clib/records.c."""
    _fields_ = [("x", ferrotypes.c_int), ("y", ferrotypes.c_int)]


def documented_examples():
    """(C declaration, argtypes text, restype text, recipe lines) of each ```text block
    of the module's documentation that has a recipe."""
    doc = "\n".join(line[4:] if line.startswith("//! ") else line[3:]
                    for line in RECIPE_SOURCE.read_text().splitlines() if line.startswith("//!"))
    examples = []
    for block in re.findall(r"```text\n(.*?)```", doc, re.S):
        fields = dict(re.findall(r"^(C|argtypes|restype):\s+(.*)$", block, re.M))
        recipe = block.split("recipe:\n", 1)[1]
        lines = [line.removeprefix("  ") for line in recipe.rstrip("\n").split("\n")]
        examples.append((fields["C"], fields["argtypes"], fields["restype"], lines))
    return examples


EXAMPLES = documented_examples()


def test_the_module_documents_examples():
    assert len(EXAMPLES) >= 3


@pytest.mark.parametrize("declaration, argtypes, restype, recipe", EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_documented_recipe_is_the_functions_recipe(fttest, declaration, argtypes, restype, recipe):
    name = re.search(r"(\w+)\(", declaration).group(1)
    names = {"Point": Point, **vars(ferrotypes)}
    f = fttest.ft[name]
    f.argtypes = [eval(t, names) for t in argtypes.split(", ")]
    f.restype = eval(restype, names)
    assert f._recipe.split("\n") == recipe


def test_recipe_follows_the_signature(fttest, ft):
    f = fttest.ft["ft_add_int"]
    f.argtypes = None
    f.restype = ft.c_int
    assert f._recipe.split("\n")[0].startswith("call: untyped")
    f.argtypes = [ft.c_int, ft.c_int]
    assert f._recipe.split("\n")[1:] == [
        "arg 1 c_int: simple 'i'; exact: int -> rdi, low 32 bits sign-extended",
        "arg 2 c_int: simple 'i'; exact: int -> rsi, low 32 bits sign-extended",
        "result c_int: its value, made straight from the result word",
    ]
    assert f(2, 3) == 5

    class Number:
        """A parameter type with its own from_param: C type known only per call."""
        @classmethod
        def from_param(cls, value):
            return ft.c_int(value)

    f.argtypes = [Number, ft.c_int]
    assert f._recipe.split("\n")[:2] == ["call: libffi, prepared per call", "arg 1 Number: its from_param -> slot 1"]
    assert f(2, 3) == 5
    f.argtypes = [ft.c_longdouble, ft.c_int]
    f.restype = None
    assert f._recipe.split("\n") == [
        "call: libffi",
        "arg 1 c_longdouble: simple 'g' -> slot 1",
        "arg 2 c_int: simple 'i' -> slot 2",
        "result None: None",
    ]


def test_architecture_shows_the_first_example():
    architecture = (RECIPE_SOURCE.parents[4] / "ARCHITECTURE.md").read_text()
    section = architecture.split("### How a call flows", 1)[1]
    shown = re.search(r"```text\n(.*?)```", section, re.S).group(1).rstrip("\n").split("\n")
    assert shown == EXAMPLES[0][3]
