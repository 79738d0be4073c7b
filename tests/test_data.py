"""Tests for common/corpus.py, common/data.py (the default path: named corpora and one UTF-8 file,
read whole) and common/corpus_scale.py (corpora at scale): every kind of --data (named corpora,
local files and folders, `datasets` datasets saved on disk, as the hub path loads them), the
streaming split and token cache (same text, keys and ids as the default path, resumable, keyed),
the tokenizer trained from streamed pieces, the default path importing neither torch nor the
module for corpora at scale, and every bad input as one line.

Run: pytest tests/test_data.py   (hermetic: tmp_path only, no network; a few seconds)
     pytest -m slow tests/test_data.py   (adds the bounded-memory check)
"""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from types import SimpleNamespace

import pytest

import common.corpus as corpus_mod
import common.corpus_scale as scale
import common.data as data_mod
from bpe_tokenizer import KINDS, train_kind
from common.corpus import Corpus, load_corpus, split_text
from common.corpus_scale import FileText, cut_splits, cut_stream
from common.data import get_tokenizer, load_dataset, tokenizer_json
from common.errors import LadderError, run_cli

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = (Path(__file__).parent / "fixtures" / "sample.txt").read_text(encoding="utf-8")


@pytest.fixture
def offline(monkeypatch):
    """`datasets` in offline mode (cache only), as the ladder sets it when the hub cannot be reached.
    It reads the setting at import, and another test may have imported it already: set both."""
    datasets = pytest.importorskip("datasets")
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    datasets.disable_progress_bars()
    return datasets


@pytest.fixture(params=["whole", "streamed"])
def path_kind(request, monkeypatch):
    """Run a test on the default path (a small file read whole) and on corpus_scale's (streamed)."""
    if request.param == "streamed":
        monkeypatch.setattr(corpus_mod, "SMALL_BYTES", 0)
    return request.param


def cfg(tmp_path, data, **kw):
    base = dict(data=str(data), data_dir="", tokenizer="bpe", vocab=300, cache_dir=str(tmp_path / "cache"))
    base.update(block_size=8, text_column="text", tokenizer_sample_mb=0.0)
    return SimpleNamespace(**(base | kw))


# --- splits: the streaming cut equals the in-memory one ----------------------------------------------


@pytest.mark.parametrize("block", [3, 7, 1 << 22])
def test_streaming_cut_equals_split_text(tmp_path, monkeypatch, block):
    monkeypatch.setattr(scale, "BLOCK", block)
    texts = ["tiny\n", "abc", "a\nb\n", "x" * 100 + "\n", "line\n" * 37, "é\nü" * 50 + "\n", "\n" * 20, SAMPLE]
    for k, text in enumerate(texts):
        (tmp_path / f"{k}.txt").write_text(text, encoding="utf-8")
        assert tuple(p.read() for p in cut_splits(FileText(tmp_path / f"{k}.txt"))) == split_text(text)


@pytest.mark.parametrize("size", [1, 5, 40, 1 << 20])
@pytest.mark.parametrize("block", [1, 3, 64, 1 << 22])
def test_cut_stream_makes_the_cuts_of_the_whole_text(size, block):
    text = SAMPLE + "naïve  café\t☃ \n\n  snow" * 7
    whole = list(data_mod.cut(text, size))
    assert "".join(whole) == text and all(p and (p[0].isspace() or p is whole[0]) for p in whole)
    assert list(cut_stream((text[i : i + block] for i in range(0, len(text), block)), size)) == whole


def test_file_text_decodes_across_blocks_and_resumes_at_any_byte(tmp_path, monkeypatch):
    monkeypatch.setattr(scale, "BLOCK", 5)  # cuts inside multi-byte characters
    text = "héllo wörld 😀 日本語\n" * 20
    path = tmp_path / "t.txt"
    path.write_text(text, encoding="utf-8")
    f = FileText(path)
    assert f.read() == text and f.n_bytes() == len(text.encode())
    starts = [len(text[:k].encode()) for k in (0, 1, 2, 14, 15, 100)]
    for start in starts:
        assert "".join(f.pieces(start)) == text.encode()[start:].decode()


def test_a_file_corpus_streams_the_same_splits_and_keys(tmp_path, monkeypatch):
    monkeypatch.setattr(scale, "BLOCK", 64)
    path = tmp_path / "my corpus.txt"
    path.write_text(SAMPLE, encoding="utf-8")
    whole = [load_corpus(str(path)), load_corpus("the-verdict"), load_corpus("wikitext-2")]
    assert all(isinstance(c.text("train"), corpus_mod.InMemory) for c in whole)  # the default path
    monkeypatch.setattr(corpus_mod, "SMALL_BYTES", 0)
    streamed = [load_corpus(str(path)), load_corpus("the-verdict"), load_corpus("wikitext-2")]
    assert all(isinstance(c.text("train"), scale.Text) for c in streamed)
    text = (Path(os.environ["LADDER_DATA_DIR"]) / "the-verdict" / "the-verdict.txt").read_text()
    assert (whole[0].train, whole[0].valid, whole[0].test) == split_text(SAMPLE) and whole[0].name == "my-corpus"
    assert (whole[1].train, whole[1].valid, whole[1].test) == split_text(text)
    for a, b in zip(whole, streamed):  # same text, same cache keys (caches built by either stay valid)
        assert (a.name, a.source) == (b.name, b.source)
        for s in ("train", "valid", "test"):
            assert a.text(s).key == b.text(s).key and a.text(s).n_bytes() == b.text(s).n_bytes()
            assert a.text(s).head(1000) == b.text(s).head(1000)
        assert a.valid == b.valid


def test_bad_utf8_is_found_across_blocks(tmp_path, monkeypatch, path_kind):
    monkeypatch.setattr(scale, "BLOCK", 4)
    path = tmp_path / "bad.txt"
    path.write_bytes("ok é\n".encode() * 3 + b"bad \xff\n" + b"more text\n" * 50)
    with pytest.raises(LadderError, match=r"not UTF-8 text: byte 22 \(line 4\) is b'\\xff'"):
        load_corpus(str(path))


# --- the token cache: streaming ids are the in-memory ids; interrupted builds resume ----------------


@pytest.mark.parametrize("kind", ["char", "bpe", "bpe-english"])
def test_streamed_ids_equal_in_memory_ids(tmp_path, monkeypatch, kind, path_kind):
    monkeypatch.setattr(data_mod, "PIECE_CHARS", 97)  # many pieces, each cut at a pre-token boundary
    path = tmp_path / "c.txt"
    path.write_text(SAMPLE + "naïve café ☃ snow\n" * 30, encoding="utf-8")
    data = load_dataset(cfg(tmp_path, path, tokenizer=kind))
    tok, corpus = data.tokenizer, data.corpus
    assert tok.to_dict() == train_kind(kind, corpus.train, 300, progress=False).to_dict()  # streamed training
    for name in ("train", "valid", "test"):
        text, split = corpus.split(name), data.split(name)
        assert split.ids.tolist() == tok.encode(text)
        assert split.n_bytes == len(text.encode()) and split.n_words == len(text.split()) + text.count("\n")
        if tok.unk_id is not None:
            assert split.n_unk == tok.encode(text).count(tok.unk_id)


def test_cache_built_across_processes_equals_one_process(tmp_path, monkeypatch):
    monkeypatch.setattr(data_mod, "PIECE_CHARS", 500)
    path = tmp_path / "c.txt"
    path.write_text(SAMPLE * 4, encoding="utf-8")
    one = load_dataset(cfg(tmp_path / "one", path))  # the default path: one process
    monkeypatch.setattr(corpus_mod, "SMALL_BYTES", 0)
    monkeypatch.setattr(scale, "PARALLEL_BYTES", 0)
    monkeypatch.setattr(scale.os, "cpu_count", lambda: 3)  # two encoding processes
    two = load_dataset(cfg(tmp_path / "two", path), one.tokenizer)
    for name in ("train", "valid", "test"):
        a, b = one.split(name), two.split(name)
        assert a.ids.tolist() == b.ids.tolist() and (a.n_bytes, a.n_words) == (b.n_bytes, b.n_words)


def test_an_interrupted_cache_build_resumes_to_the_same_ids(tmp_path, monkeypatch):
    monkeypatch.setattr(data_mod, "PIECE_CHARS", 2000)
    monkeypatch.setattr(corpus_mod, "SMALL_BYTES", 0)  # a corpus at scale: its build is resumable
    monkeypatch.setattr(scale, "SAVE_SECONDS", 0.0)  # record the place after every piece
    path = tmp_path / "c.txt"
    path.write_text(SAMPLE * 10, encoding="utf-8")
    expected = load_dataset(cfg(tmp_path / "a", path)).train.ids.tolist()

    real, calls = scale._encode_piece, []

    def dies_after_three(piece):
        calls.append(piece)
        if len(calls) == 4:
            raise KeyboardInterrupt
        return real(piece)

    monkeypatch.setattr(scale, "_encode_piece", dies_after_three)
    with pytest.raises(KeyboardInterrupt):
        load_dataset(cfg(tmp_path / "b", path))
    place = next((tmp_path / "b" / "cache" / "tokens").glob("*/train.place.json"))
    assert json.loads(place.read_text())["n_bytes"] > 0
    monkeypatch.setattr(scale, "_encode_piece", real)
    assert load_dataset(cfg(tmp_path / "b", path)).train.ids.tolist() == expected
    assert not place.exists()


def test_cache_is_keyed_by_text_and_tokenizer(tmp_path, path_kind):
    path = tmp_path / "c.txt"
    path.write_text(SAMPLE, encoding="utf-8")
    a = load_dataset(cfg(tmp_path, path))
    b = load_dataset(cfg(tmp_path, path, vocab=280))
    assert tokenizer_json(a.tokenizer) != tokenizer_json(b.tokenizer)
    path.write_text(SAMPLE.replace("the", "teh"), encoding="utf-8")
    c = load_dataset(cfg(tmp_path, path))
    assert c.train.ids.tolist() == c.tokenizer.encode(c.corpus.train)
    assert len(list((tmp_path / "cache" / "tokens").iterdir())) == 3
    assert len(list((tmp_path / "cache" / "tokenizers").glob("*.json"))) == 3


def test_tokenizer_sample_trains_on_part_of_the_text(tmp_path, monkeypatch):
    monkeypatch.setattr(data_mod, "PIECE_CHARS", 1000)
    corpus = Corpus.of("s", "test", SAMPLE * 4, "v\n", "t\n")
    train = corpus.text("train")
    pieces = list(scale.training_pieces(data_mod.cut(train.read()), train.n_bytes(), 0.002))
    assert 2000 <= sum(len(p.encode()) for p in pieces) < 4000
    assert "".join(pieces) != corpus.train and all(p in corpus.train for p in pieces)
    sampled = get_tokenizer("bpe", 300, corpus, tmp_path, sample_mb=0.002)
    assert list((tmp_path / "tokenizers").glob("*-sample0.002MB.json")) and sampled.vocab_size == 300


# --- sources: local files and folders, `datasets` saved on disk ---------------------------------------


def docs(n=60):
    return [f"Document {i}: {SAMPLE[(i * 97) % 900 : (i * 97) % 900 + 120]}" for i in range(n)]


def test_jsonl_parquet_and_folders(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    rows = docs()
    joined = "".join(r + "\n" for r in rows)
    (tmp_path / "d.jsonl").write_text("".join(json.dumps({"body": r, "n": 1}) + "\n" for r in rows))
    pq.write_table(pa.table({"body": rows}), tmp_path / "d.parquet")
    for name in ("d.jsonl", "d.parquet"):
        c = load_corpus(str(tmp_path / name), text_column="body")
        assert c.train + c.valid + c.test == joined and (c.train, c.valid, c.test) == split_text(joined)
    folder = tmp_path / "shards"
    folder.mkdir()
    for k in range(3):
        (folder / f"{k}.txt").write_text("".join(r + "\n" for r in rows[k::3]).rstrip("\n"))
    c = load_corpus(str(folder))
    assert c.train + c.valid + c.test == "".join(r + "\n" for k in range(3) for r in rows[k::3])
    layout = tmp_path / "layout"
    layout.mkdir()
    for split in ("train", "valid", "test"):
        (layout / f"{split}.txt").write_text(f"{split} text\n" * 5)
    assert load_corpus(str(layout)).valid == "valid text\n" * 5


def test_a_saved_datasets_dataset_loads_through_the_hub_path(tmp_path, offline):
    datasets = offline
    rows = docs()
    whole = datasets.DatasetDict(
        train=datasets.Dataset.from_dict({"text": rows[:40], "id": list(range(40))}),
        validation=datasets.Dataset.from_dict({"text": rows[40:50], "id": list(range(10))}),
        test=datasets.Dataset.from_dict({"text": rows[50:], "id": list(range(10))}),
    )
    whole.save_to_disk(tmp_path / "three")
    c = load_corpus(f"hf:{tmp_path / 'three'}")
    assert c.train == "".join(r + "\n" for r in rows[:40]) and c.test == "".join(r + "\n" for r in rows[50:])
    assert c.source.startswith("huggingface:")
    only_train = datasets.Dataset.from_dict({"text": rows})
    only_train.to_parquet(tmp_path / "pq" / "train.parquet")  # a folder of data files, as on the hub
    c = load_corpus(f"hf:{tmp_path / 'pq'}")
    joined = "".join(r + "\n" for r in rows)
    assert (c.train, c.valid, c.test) == split_text(joined)
    data = load_dataset(cfg(tmp_path, f"hf:{tmp_path / 'pq'}"))
    assert data.train.ids.tolist() == data.tokenizer.encode(c.train)


@pytest.mark.parametrize(
    "make, spec, needle",
    [
        ("text", "{p}/d", None),
        ("body", "{p}/d", "has no column 'text'"),
        ("number", "{p}/d", "holds int64, not text"),
        ("empty", "{p}/pq", "is empty"),
        ("text", "{p}/d:nope", "no configurations"),
        ("text", "{p}/pq:nope", "has no configuration 'nope' (BuilderConfig 'nope' not found. Available"),
        (None, "nobody-has/this-dataset", "not in the local `datasets` cache"),
    ],
)
def test_bad_datasets_are_one_line(tmp_path, offline, capsys, make, spec, needle):
    datasets = offline
    columns = {
        "text": {"text": docs(20)},
        "body": {"body": docs(20)},
        "number": {"text": list(range(20))},
        "empty": {"text": []},
    }
    if make:
        text = datasets.Features({"text": datasets.Value("string")})
        ds = datasets.Dataset.from_dict(columns[make], features=text if make == "empty" else None)
        ds.to_parquet(tmp_path / "pq" / "train.parquet")  # a folder of data files, as on the hub
        if make != "empty":  # (datasets cannot load an empty dataset saved with save_to_disk)
            ds.save_to_disk(tmp_path / "d")
    data = "hf:" + spec.format(p=tmp_path)
    if needle is None:
        assert load_corpus(data).train
        return
    capsys.readouterr()
    with pytest.raises(SystemExit) as e:
        run_cli(load_corpus, data)
    err = capsys.readouterr().err
    assert e.value.code == 2 and needle in err and err.count("\n") == 1, err


@pytest.mark.parametrize(
    "write, arg, needle",
    [
        (lambda p: (p / "d.jsonl").write_text('{"body": "x"}\n'), "d.jsonl", "has no 'text' field"),
        (lambda p: (p / "d.jsonl").write_text('{"text": 3}\n'), "d.jsonl", "holds int, not text"),
        (lambda p: (p / "d.jsonl").write_text("not json\n"), "d.jsonl", "line 1 is not JSON"),
        (lambda p: (p / "d.jsonl").write_text(""), "d.jsonl", "is empty"),
        (lambda p: (p / "sub").mkdir(), "sub", "no .txt, .jsonl, .parquet files"),
        (lambda p: None, "missing.txt", "neither a corpus name"),
    ],
)
def test_bad_local_data_is_one_line(tmp_path, write, arg, needle):
    write(tmp_path)
    with pytest.raises(LadderError, match=needle.replace(".", r"\.")):
        load_corpus(str(tmp_path / arg))


def test_wikitext_103_is_named_and_missing_names_both_ways(monkeypatch, offline):
    monkeypatch.setattr(scale, "_hub_reachable", lambda timeout=3.0: False)
    with pytest.raises(LadderError, match=r"wikitext-103/train.txt.*Salesforce/wikitext \(wikitext-103-v1\)"):
        load_corpus("wikitext-103")


def test_without_network_datasets_keeps_to_its_cache_for_the_call_only(monkeypatch, tmp_path):
    datasets = pytest.importorskip("datasets")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setattr(datasets.config, "HF_HUB_OFFLINE", False)
    monkeypatch.setattr(scale, "_hub_reachable", lambda timeout=3.0: False)
    seen = []
    monkeypatch.setattr(scale, "_open_hf", lambda repo, config: seen.append(datasets.config.HF_HUB_OFFLINE) or 1 / 0)
    with pytest.raises(LadderError, match="not in the local `datasets` cache and the hub cannot be reached"):
        load_corpus("hf:nobody-has/this-dataset")
    assert seen == [True]  # offline during the load ...
    assert datasets.config.HF_HUB_OFFLINE is False and "HF_HUB_OFFLINE" not in os.environ  # ... and only then


def test_the_default_path_imports_neither_torch_nor_the_module_for_corpora_at_scale(tmp_path):
    code = textwrap.dedent(
        f"""
        import sys
        from types import SimpleNamespace
        sys.path.insert(0, {str(ROOT)!r})
        from common.data import load_dataset
        for kind, vocab in (("char", 0), ("bpe", 300)):
            cfg = SimpleNamespace(data="the-verdict", data_dir="", tokenizer=kind, vocab=vocab, cache_dir={str(tmp_path)!r},
                                  block_size=8, text_column="text", tokenizer_sample_mb=0.0)
            load_dataset(cfg)
        print(sorted(m for m in ("torch", "common.corpus_scale", "datasets", "pyarrow") if m in sys.modules))
        """
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.split("\n")[-2] == "[]", out.stdout


# --- streaming tokenizer training: the same merges as on the whole text -------------------------------


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "char"])
def test_training_on_pieces_across_processes_equals_training_on_the_text(monkeypatch, kind):
    import bpe_extras

    monkeypatch.setattr(bpe_extras, "_CHUNK_CHARS", 2000)  # several chunks: the process pool counts them
    text = SAMPLE * 3 + "naïve café ☃\n"
    pieces = cut_stream(iter(text[i : i + 333] for i in range(0, len(text), 333)), 500)  # as the cache build
    whole = train_kind(kind, text, 400, progress=False)
    assert train_kind(kind, pieces, 400, progress=False).to_dict() == whole.to_dict()


# --- memory stays flat in the corpus size (slow: builds ~40 MB corpora) --------------------------------

RSS_SCRIPT = textwrap.dedent(
    """
    import resource, sys
    from types import SimpleNamespace
    sys.path.insert(0, {root!r})
    import common.corpus
    from common.data import load_dataset
    common.corpus.SMALL_BYTES = 0  # stream both sizes (corpus_scale.py)
    def status(key):
        return int(next(x for x in open("/proc/self/status") if x.startswith(key)).split()[1]) / 1024
    cfg = SimpleNamespace(data=sys.argv[1], data_dir="", tokenizer="bpe", vocab=2000, cache_dir=sys.argv[2],
                          block_size=8, text_column="text", tokenizer_sample_mb=0.0)
    load_dataset(cfg)
    print(status("VmHWM"), resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)
    """
)


@pytest.mark.slow
def test_peak_memory_does_not_grow_with_the_corpus(tmp_path):
    wiki = (Path(os.environ["LADDER_DATA_DIR"]) / "wikitext-2" / "train.txt").read_text()[:4_000_000]
    peaks = []
    for copies in (2, 10):  # 8 MB and 40 MB of text: tokenizer training and the token cache
        path = tmp_path / f"c{copies}.txt"
        path.write_text(wiki * copies)
        code = RSS_SCRIPT.format(root=str(ROOT))
        out = subprocess.run(
            [sys.executable, "-c", code, str(path), str(tmp_path / f"cache{copies}")],
            check=True,
            capture_output=True,
            text=True,
        )
        peaks.append([float(x) for x in out.stdout.split()[-2:]])
    (small_main, small_kids), (big_main, big_kids) = peaks
    assert big_main < small_main + 40, peaks  # 5x the text, not 5x the memory (the text alone is +32 MB)
    assert big_kids < small_main + 60, peaks  # each encoding process: a tokenizer, its cache, a few pieces


def test_the_progress_bar_never_replaces_a_piece_of_text():
    # tqdm's update() returns True when it redraws: `bar.update(n) or piece` once fed True to the trainer
    from common.data import counted

    class Redrawing:
        n = 0

        def update(self, k):
            self.n += k
            return True

    bar = Redrawing()
    assert list(counted(["ab", "ç"], bar)) == ["ab", "ç"] and bar.n == 4


@pytest.mark.parametrize("where", ["in memory", "streamed"])
def test_a_token_cache_damaged_after_it_was_built_is_refused_with_one_line(tmp_path, monkeypatch, where):
    # issue 33: one byte of train.bin changed (a disk, a copy); the run must not train on it
    if where == "streamed":
        monkeypatch.setattr(corpus_mod, "SMALL_BYTES", 0)  # every file goes through common/corpus_scale.py
    path = tmp_path / "c.txt"
    path.write_text(SAMPLE * 3, encoding="utf-8")
    load_dataset(cfg(tmp_path, path))
    (folder,) = (tmp_path / "cache" / "tokens").iterdir()
    ids = folder / "train.bin"
    raw = bytearray(ids.read_bytes())
    raw[len(raw) // 2] ^= 1  # an id still in range: only the checksum notices
    ids.write_bytes(bytes(raw))
    with pytest.raises(LadderError, match=rf"token cache {ids} is damaged \(its checksum differs.*delete {folder}"):
        load_dataset(cfg(tmp_path, path))
    meta = json.loads((folder / "train.json").read_text())
    del meta["checksum"]  # a cache from before checksums: the ids' range is still checked
    (folder / "train.json").write_text(json.dumps(meta))
    i = len(raw) // 2 - (len(raw) // 2) % 2
    raw[i : i + 2] = b"\xff\xff"  # id 65535 (uint16), out of range for a tokenizer of 300 ids
    ids.write_bytes(bytes(raw))
    with pytest.raises(LadderError, match=r"damaged \(it holds id 65535, outside the tokenizer's 300 ids\)"):
        load_dataset(cfg(tmp_path, path))


# --- wikitext-103-wt2: WikiText-103's training text on WikiText-2's terms --------------------------


def wt103_layout(tmp_path, n_lines=400):
    """A data folder with wikitext-2/ (the first lines of the real files) and wikitext-103/ in its
    layout, built from them: every <unk> of WikiText-2 written back as a rare word, as WikiText-103
    keeps them, so mapping it to WikiText-2's vocabulary must give WikiText-2's text again."""
    real = Path(os.environ["LADDER_DATA_DIR"]) / "wikitext-2"
    vocab = frozenset()
    for i, split in enumerate(("train", "valid", "test")):
        lines = real.joinpath(f"{split}.txt").read_text(encoding="utf-8").splitlines(keepends=True)[:n_lines]
        if split == "train":
            vocab = frozenset("".join(lines).split())
        # cut short, WikiText-2's train lacks words of its valid and test: they become <unk> too
        text = "".join(scale.map_to_vocabulary(line, vocab) for line in lines)
        (tmp_path / "wikitext-2").mkdir(exist_ok=True)
        (tmp_path / "wikitext-103").mkdir(exist_ok=True)
        (tmp_path / "wikitext-2" / f"{split}.txt").write_text(text, encoding="utf-8")
        rare = iter(f"Zørbquist{k}" for k in range(10**6))  # words WikiText-2 never saw, one per <unk>
        back = " ".join(next(rare) if w == "<unk>" else w for w in text.split(" "))
        (tmp_path / "wikitext-103" / f"{split}.txt").write_text(back + " more" * i, encoding="utf-8")
    return tmp_path


def test_wikitext_103_on_wikitext_2s_terms(tmp_path, capsys):
    folder = wt103_layout(tmp_path)
    c = load_corpus("wikitext-103-wt2", str(folder))
    wt2 = load_corpus("wikitext-2", str(folder))
    assert c.split("train") == wt2.split("train")  # the mapping undoes exactly what WikiText-2 wrote as <unk>
    assert "Zørbquist" in (folder / "wikitext-103" / "train.txt").read_text(encoding="utf-8")
    assert c.split("valid") == wt2.split("valid") and c.split("test") == wt2.split("test")  # scored on WikiText-2's
    (line,) = [x for x in capsys.readouterr().out.splitlines() if x.startswith("wikitext-103-wt2:")]
    assert "differs from WikiText-2's in 1 of" in line  # the one line the layout changed (" more")
    assert "scoring uses WikiText-2's valid and test files" in line
    # resumable offsets are the mapped text's: starting part-way gives the rest of it
    train = c.text("train")
    whole = train.read()
    start = len(whole[:5000].encode())
    assert "".join(train.pieces(start)) == whole[5000:]


def test_wikitext_103_on_wikitext_2s_terms_needs_both_folders(tmp_path):
    folder = wt103_layout(tmp_path)
    (folder / "wikitext-103" / "train.txt").unlink()
    with pytest.raises(LadderError, match=r"needs both wikitext-2/ and wikitext-103/"):
        load_corpus("wikitext-103-wt2", str(folder))


@pytest.mark.slow  # a whole short run with its final evaluation (about 5 s); `.ci/run` runs it
def test_a_rung_trains_on_wikitext_103_scored_on_wikitext_2(tmp_path):
    import v1_transformer
    from tests.conftest import tiny_argv

    (tmp_path / "data").mkdir()
    folder = wt103_layout(tmp_path / "data", n_lines=120)
    summary = v1_transformer.main(
        tiny_argv(v1_transformer, tmp_path, name="w", data="wikitext-103-wt2", data_dir=folder)
    )
    assert summary["steps"] > 0 and summary["val/bpb"] > 0
    config = json.loads((tmp_path / "runs" / "w" / "config.json").read_text())
    assert config["data"] == "wikitext-103-wt2"
