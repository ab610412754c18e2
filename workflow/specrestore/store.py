"""Per-shard array files: an uncompressed NPZ holding named arrays (``audio/<id>``,
``mag/<id>``, ...) and a JSON header, written atomically so that a killed job never
leaves a file that looks complete. Uncompressed because these are re-read by every
later stage and compression would cost more time than it saves disk."""

from __future__ import annotations

import json
import os
import zipfile
from pathlib import Path

import numpy as np

META_KEY = "__meta__"


def write_arrays(path: str | Path, arrays: dict[str, np.ndarray], meta: dict | None = None) -> None:
    with ArrayWriter(path, meta) as writer:
        for name, array in arrays.items():
            writer[name] = array


class ArrayWriter:
    """An array file written one array at a time, so that a job holds one utterance in
    memory, not its shard: ``with ArrayWriter(path, meta) as arrays: arrays[name] =
    array``. The file is the one ``write_arrays`` writes (``np.load`` reads it); it
    appears under its name only when the block ends without an error, and an error
    removes the partial file."""

    def __init__(self, path: str | Path, meta: dict | None = None):
        self.path = Path(path)
        self.meta = meta or {}
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.partial = self.path.with_name(self.path.name + ".partial")
        self._zip = zipfile.ZipFile(self.partial, mode="w", compression=zipfile.ZIP_STORED, allowZip64=True)
        self._names: set[str] = set()

    def __setitem__(self, name: str, array: np.ndarray) -> None:
        if name in self._names or name == META_KEY:
            raise KeyError(f"{self.path}: array {name!r} written twice")
        self._names.add(name)
        self._write(name, np.asanyarray(array))

    def _write(self, name: str, array: np.ndarray) -> None:
        with self._zip.open(name + ".npy", "w", force_zip64=True) as member:
            np.lib.format.write_array(member, array, allow_pickle=False)

    def close(self) -> None:
        self._write(META_KEY, np.array(json.dumps(self.meta, sort_keys=True)))
        self._zip.close()
        os.replace(self.partial, self.path)

    def discard(self) -> None:
        self._zip.close()
        self.partial.unlink(missing_ok=True)

    def __enter__(self):
        return self

    def __exit__(self, kind, *exc):
        if kind is None:
            self.close()
        else:
            self.discard()


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

    def stored(self, prefix: str, utt_id: str) -> StoredArray:
        """A 1-D array left in the file: its length is known, and a slice of it is read
        when asked for, so that training on a corpus holds none of its audio."""
        name = f"{prefix}/{utt_id}"
        return StoredArray(self.path, name, self._npz.zip.getinfo(name + ".npy"))

    def has(self, prefix: str, utt_id: str) -> bool:
        return f"{prefix}/{utt_id}" in self._npz.files

    def close(self) -> None:
        self._npz.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class StoredArray:
    """A 1-D array inside an uncompressed array file, read a slice at a time
    (``stored[a:b]``, or ``np.asarray(stored)`` for all of it)."""

    def __init__(self, path: str | Path, name: str, info: zipfile.ZipInfo):
        """``info``: the array's entry in the archive's directory, which the open
        :class:`ArrayFile` has already read."""
        self.path = Path(path)
        if info.compress_type != zipfile.ZIP_STORED:
            raise ValueError(f"{self.path}: {name} is compressed; only stored arrays can be read in slices")
        with open(self.path, "rb") as handle:
            handle.seek(info.header_offset)
            local = handle.read(30)
            # The local header's own name and extra-field lengths (they may differ from
            # the central directory's), then the .npy header.
            handle.seek(info.header_offset + 30 + int.from_bytes(local[26:28], "little")
                        + int.from_bytes(local[28:30], "little"))  # fmt: skip
            version = np.lib.format.read_magic(handle)
            read_header = (
                np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
            )
            shape, _, dtype = read_header(handle)
            self.data_offset = handle.tell()
        if len(shape) != 1:
            raise ValueError(f"{self.path}: {name} has shape {shape}; only 1-D arrays are read in slices")
        self.name, self.dtype, self.length = name, dtype, shape[0]

    def __len__(self) -> int:
        return self.length

    def __getitem__(self, index: slice) -> np.ndarray:
        if not isinstance(index, slice) or index.step not in (None, 1):
            raise TypeError(f"{self.path}: {self.name} is read in contiguous slices only")
        start, stop, _ = index.indices(self.length)
        count = max(0, stop - start)
        with open(self.path, "rb") as handle:
            handle.seek(self.data_offset + start * self.dtype.itemsize)
            values = np.fromfile(handle, dtype=self.dtype, count=count)
        if len(values) != count:
            raise ValueError(f"{self.path}: {self.name} is truncated")
        return values

    def __array__(self, dtype=None, copy=None):
        values = self[:]
        return values if dtype is None else values.astype(dtype)
