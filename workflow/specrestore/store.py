"""Per-shard array files: an uncompressed NPZ holding named arrays (``audio/<id>``,
``mag/<id>``, ...) and a JSON header, written atomically so that a killed job never
leaves a file that looks complete. Uncompressed because these are re-read by every
later stage and compression would cost more time than it saves disk."""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

META_KEY = "__meta__"


def write_arrays(path: str | Path, arrays: dict[str, np.ndarray], meta: dict | None = None) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = dict(arrays)
    payload[META_KEY] = np.array(json.dumps(meta or {}, sort_keys=True))
    partial = path.with_name(path.name + ".partial")
    with open(partial, "wb") as handle:
        np.savez(handle, **payload)
    os.replace(partial, path)


class ArrayFile:
    """Lazy reader: arrays are read from the archive only when asked for."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._npz = np.load(self.path, allow_pickle=False)
        self.meta = json.loads(str(self._npz[META_KEY])) if META_KEY in self._npz.files else {}

    def ids(self, prefix: str) -> list[str]:
        start = prefix + "/"
        return [k[len(start) :] for k in self._npz.files if k.startswith(start)]

    def get(self, prefix: str, utt_id: str) -> np.ndarray:
        return self._npz[f"{prefix}/{utt_id}"]

    def has(self, prefix: str, utt_id: str) -> bool:
        return f"{prefix}/{utt_id}" in self._npz.files

    def close(self) -> None:
        self._npz.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
