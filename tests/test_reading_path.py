"""benchmarks/reading_path.py: the files a reader follows are the repository files imported at module
level, transitively (a package's __init__.py included), never those imported inside a function.
Run: pytest tests/test_reading_path.py"""

from benchmarks import reading_path as rp
from tests.conftest import ROOT


def test_module_level_imports_are_followed_and_function_level_ones_are_not(tmp_path, monkeypatch):
    files = {
        "rung.py": "import os\nfrom pkg.b import thing\n\ndef f():\n    import lazy\n",
        "pkg/__init__.py": '"""a package"""\n',
        "pkg/b.py": "try:\n    from pkg import c\nexcept ImportError:\n    pass\nthing = 1\n",
        "pkg/c.py": "import rung\n",  # a cycle is followed once
        "lazy.py": "x = 1\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text(text)
    monkeypatch.setattr(rp, "ROOT", tmp_path)
    lines = rp.reading_path(tmp_path / "rung.py")
    assert [p.relative_to(tmp_path).as_posix() for p in lines] == ["rung.py", "pkg/__init__.py", "pkg/b.py", "pkg/c.py"]
    assert sum(lines.values()) == 5 + 1 + 5 + 1


def test_a_rung_reads_the_thin_data_path_only():
    names = {p.relative_to(ROOT).as_posix() for p in rp.reading_path(ROOT / "v2_bpe_rope.py")}
    assert {"v2_bpe_rope.py", "common/corpus.py", "common/data.py", "bpe_tokenizer.py"} <= names
    assert "common/corpus_scale.py" not in names


def test_a_rungs_tokenizer_in_its_own_file_is_on_its_path():
    """v4 on select bpe-scaffold, whose class lives in bpe_scaffold.py: no import names it, the
    kind does. v2 (bpe) does not read it."""
    v4 = {p.relative_to(ROOT).as_posix() for p in rp.reading_path(ROOT / "v4_scaffold_bpe.py")}
    v2 = {p.relative_to(ROOT).as_posix() for p in rp.reading_path(ROOT / "v2_bpe_rope.py")}
    assert "bpe_scaffold.py" in v4 and "bpe_scaffold.py" not in v2
