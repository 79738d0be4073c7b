"""Read an offline run's `.wandb` file back, as `wandb sync` would upload it.

wandb 0.31 ships no reader for its transaction log (the Python `datastore` module was removed when
the Go core took over), so this is the format written out: LevelDB's log format
(https://github.com/google/leveldb/blob/main/doc/log_format.md) after a 7-byte header
(":W&B", magic 0xBEE1, version 0), every record a `wandb_internal_pb2.Record` protobuf.
"""

import json
import struct
import zlib
from pathlib import Path

from wandb.proto import wandb_internal_pb2

HEADER = struct.Struct("<4sHB")  # ident, magic, version
CHUNK = struct.Struct("<IHB")  # checksum, length, type
BLOCK = 32768
FULL, FIRST, MIDDLE, LAST = 1, 2, 3, 4


def records(path: Path) -> list:
    data = Path(path).read_bytes()
    ident, magic, version = HEADER.unpack_from(data)
    assert (ident, magic, version) == (b":W&B", 0xBEE1, 0), f"not a .wandb file: {path}"
    out, pending, pos = [], b"", HEADER.size
    while pos + CHUNK.size <= len(data):
        left = BLOCK - pos % BLOCK
        if left < CHUNK.size:  # a block's trailer: zeros up to the next block
            pos += left
            continue
        checksum, length, kind = CHUNK.unpack_from(data, pos)
        body = data[pos + CHUNK.size : pos + CHUNK.size + length]
        pos += CHUNK.size + length
        if kind == 0 and length == 0:  # zero padding at the end of the file
            break
        assert zlib.crc32(body, zlib.crc32(bytes([kind]))) & 0xFFFFFFFF == checksum, "checksum mismatch"
        pending = body if kind in (FULL, FIRST) else pending + body
        if kind in (FULL, LAST):
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            out.append(record)
    return out


def _key(item) -> str:
    return "/".join(item.nested_key) if item.nested_key else item.key


def history(path: Path) -> list[dict]:
    """The history rows, in order."""
    return [{_key(i): json.loads(i.value_json) for i in r.history.item} for r in records(path) if r.HasField("history")]


def summary(path: Path) -> dict:
    """The run's summary as the server builds it on sync: every history row updates it, in file
    order, and so does every `summary.update`."""
    s = {}
    for r in records(path):
        if r.HasField("history"):
            s.update({_key(i): json.loads(i.value_json) for i in r.history.item if not _key(i).startswith("_")})
        elif r.HasField("summary"):
            s.update({_key(i): json.loads(i.value_json) for i in r.summary.update})
            for i in r.summary.remove:
                s.pop(_key(i), None)
    return s


def metric_definitions(path: Path) -> dict:
    """name or glob -> the step metric it is plotted against ('' when none)."""
    return {(r.metric.name or r.metric.glob_name): r.metric.step_metric for r in records(path) if r.HasField("metric")}
