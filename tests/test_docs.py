"""Every code example in docs/ (and README.md) runs, against real C.

A page's fenced blocks run in order, in one namespace per page and in a fresh working
directory:

- a ```` ```c title="libname.c" ```` block is compiled (``ferrotypes._cbuild``) into
  ``./libname.so`` in that directory, where the page's Python loads it as a reader would;
- a ```` ```python ```` block whose first line starts with ``>>>`` is a doctest: its
  outputs are compared (ELLIPSIS and NORMALIZE_WHITESPACE on);
- any other ```` ```python ```` block is executed; it checks itself with ``assert``.

Blocks in other languages (``sh``, ``text``, ...) are not examples. A failure names the
page and the line of the Markdown file: Python code is compiled with the page as its file
name and its own line numbers, so tracebacks point into the page.
"""

from __future__ import annotations

import doctest
import re
import traceback
from dataclasses import dataclass
from pathlib import Path

import pytest

from ferrotypes import _cbuild

REPO = Path(__file__).resolve().parent.parent
PAGES = sorted((REPO / "docs").rglob("*.md")) + [REPO / "README.md"]

_FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>[\w+-]*)(?P<info>[^\n`]*)$")
_TITLE = re.compile(r'title="(?P<title>[^"]+)"')


@dataclass
class Block:
    lang: str
    info: str
    code: str
    line: int  # the line of the Markdown file where the code starts (1-based)


def blocks(page: Path) -> list[Block]:
    """The fenced code blocks of ``page``, with the line their code starts on."""
    found = []
    lines = page.read_text().split("\n")
    i = 0
    while i < len(lines):
        opening = _FENCE.match(lines[i])
        if opening is None:
            i += 1
            continue
        indent = len(opening["indent"])
        start = i + 1
        i = start
        while i < len(lines) and lines[i].strip() != "```":
            i += 1
        if i == len(lines):
            raise AssertionError(f"{page.relative_to(REPO)}:{start}: code block never closed")
        code = "\n".join(line[indent:] for line in lines[start:i])
        found.append(Block(opening["lang"], opening["info"], code, start + 1))
        i += 1
    return found


def _relative(page: Path) -> str:
    try:
        return str(page.relative_to(REPO))
    except ValueError:
        return str(page)


def _run_c(page: Path, block: Block, workdir: Path) -> None:
    title = _TITLE.search(block.info)
    if title is None:
        return  # C shown for reading only (a declaration, a fragment): nothing to build
    source = workdir / title["title"]
    source.write_text(block.code + "\n")
    name = source.stem
    try:
        _cbuild.build_shared_library([source], name, outdir=workdir, suffix=".so")
    except Exception as exc:
        pytest.fail(f"{_relative(page)}:{block.line}: the C block does not compile: {exc}")


def _run_doctest(page: Path, block: Block, namespace: dict) -> None:
    parser = doctest.DocTestParser()
    test = parser.get_doctest(block.code, namespace, _relative(page), _relative(page), block.line - 1)
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    report: list[str] = []
    runner.run(test, out=report.append, clear_globs=False)
    namespace.update(test.globs)  # the doctest ran in a copy; later blocks see its names
    if runner.failures:
        pytest.fail(f"{_relative(page)}:{block.line}: doctest failed\n" + "".join(report), pytrace=False)


def _run_python(page: Path, block: Block, namespace: dict) -> None:
    # Leading newlines put each statement on its own line of the page in tracebacks.
    code = compile("\n" * (block.line - 1) + block.code, _relative(page), "exec")
    try:
        exec(code, namespace)
    except Exception:
        pytest.fail(f"{_relative(page)}:{block.line}: the example raised\n{traceback.format_exc()}",
                    pytrace=False)


@pytest.mark.parametrize("page", PAGES, ids=_relative)
def test_examples_of_page_run(page, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    namespace: dict = {"__name__": f"docs_{page.stem}"}
    ran = 0
    for block in blocks(page):
        if block.lang == "c":
            _run_c(page, block, tmp_path)
        elif block.lang == "python":
            if block.code.lstrip().startswith(">>>"):
                _run_doctest(page, block, namespace)
            else:
                _run_python(page, block, namespace)
            ran += 1
    assert ran or not any(b.lang == "python" for b in blocks(page))


def test_a_failing_example_names_its_file_and_line(tmp_path):
    page = tmp_path / "broken.md"
    page.write_text("# Broken\n\ntext\n\n```python\nx = 1\nassert x == 2, 'wrong'\n```\n"
                    "\n```python\n>>> 1 + 1\n3\n```\n")
    python, doctest_block = blocks(page)
    assert (python.line, doctest_block.line) == (6, 11)
    with pytest.raises(pytest.fail.Exception) as info:
        _run_python(page, python, {})
    assert f'File "{page}", line 7' in str(info.value) and "wrong" in str(info.value)
    with pytest.raises(pytest.fail.Exception) as info:
        _run_doctest(page, doctest_block, {})
    assert f"File \"{page}\", line 11" in str(info.value), str(info.value)


def test_every_page_is_in_the_navigation():
    nav = (REPO / "mkdocs.yml").read_text()
    for page in (REPO / "docs").rglob("*.md"):
        assert str(page.relative_to(REPO / "docs")) in nav, f"{page} is not in mkdocs.yml's nav"


_LINK = re.compile(r"\]\((?P<target>[^)\s#]+)(#[^)]*)?\)")


@pytest.mark.parametrize("page", [REPO / "README.md", REPO / "CHANGELOG.md"], ids=_relative)
def test_relative_links_of_repository_pages_resolve(page):
    # docs/ pages are checked by `mkdocs build --strict` (scripts/build-docs).
    for number, line in enumerate(page.read_text().split("\n"), 1):
        for link in _LINK.finditer(line):
            target = link["target"]
            if "://" in target:
                continue
            assert (page.parent / target).exists(), f"{_relative(page)}:{number}: broken link {target}"
