"""Reading recordings from disk, with a clear reason for every one that cannot be used.

Two levels of checking, so that the cheap one can run over a whole corpus in one job
and the expensive one in parallel, per shard:

- :func:`probe` reads only the header (format, rate, channels, length);
- :func:`read_audio` decodes the samples and rejects truncated, non-finite and
  all-zero recordings; :func:`read_blocks` does the same checks (but for silence) on a
  recording read in pieces, for files too long to hold in memory.

Both raise :class:`AudioError`, whose message names the file and what is wrong.
"""

from __future__ import annotations

import struct
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

AUDIO_EXTENSIONS = ("wav", "flac", "ogg")


class AudioError(Exception):
    """A recording that cannot be used. ``reason`` is a short phrase for tables."""

    def __init__(self, path: str | Path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = str(path)
        self.reason = reason


@dataclass(frozen=True)
class AudioInfo:
    path: str
    sample_rate: int
    channels: int
    frames: int
    format: str
    subtype: str

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate


def probe(path: str | Path) -> AudioInfo:
    """Header-level facts about a recording; raises :class:`AudioError` when the file is
    empty, not audio, or declares no samples."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as err:
        raise AudioError(path, f"cannot be opened ({err.strerror})") from None
    if size == 0:
        raise AudioError(path, "zero-length file")
    try:
        info = sf.info(str(path))
    except Exception as err:  # libsndfile reports every header problem the same way
        raise AudioError(path, f"not a readable audio file ({_libsndfile_message(err)})") from None
    if info.frames <= 0:
        raise AudioError(path, "no samples")
    if info.samplerate <= 0 or info.channels <= 0:
        raise AudioError(path, f"invalid header (rate {info.samplerate}, channels {info.channels})")
    return AudioInfo(str(path), int(info.samplerate), int(info.channels), int(info.frames), info.format, info.subtype)


def read_audio(path: str | Path) -> tuple[np.ndarray, int]:
    """Decode a recording to float32 of shape (frames, channels) and its sample rate.

    Raises :class:`AudioError` for a file that is truncated (fewer samples than its
    header declares), holds NaN or infinite samples, or is all zeros."""
    info = probe(path)
    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as err:
        raise AudioError(path, f"truncated or corrupt: decoding failed ({_libsndfile_message(err)})") from None
    declared = _declared_frames(Path(path), info)
    if declared is not None and len(data) < declared:
        raise AudioError(path, _truncated(declared, len(data), info.sample_rate))
    if len(data) == 0:
        raise AudioError(path, "no samples")
    if not np.all(np.isfinite(data)):
        bad = int(np.count_nonzero(~np.isfinite(data)))
        raise AudioError(path, f"non-finite samples: {bad} NaN or infinite values")
    if not np.any(data):
        raise AudioError(path, "silent: every sample is zero")
    return data, int(rate)


def read_blocks(
    path: str | Path, info: AudioInfo, windows: Iterable[tuple[int, int]]
) -> Iterator[tuple[int, np.ndarray]]:
    """``(start, samples)`` for each ``(start, end)`` frame window, the samples float32 of
    shape (frames, channels), with the checks of :func:`read_audio` made as the file is
    read: raises :class:`AudioError` for a file that holds fewer frames than its header
    declares (checked before the first block), that fails to decode, or at the first NaN
    or infinite sample, named by its time and channel (1 for the first)."""
    declared = _declared_frames(Path(path), info)
    if declared is not None and declared > info.frames:
        raise AudioError(path, _truncated(declared, info.frames, info.sample_rate))
    with sf.SoundFile(str(path)) as handle:
        for start, end in windows:
            try:
                handle.seek(start)
                data = handle.read(end - start, dtype="float32", always_2d=True)
            except Exception as err:
                raise AudioError(path, f"truncated or corrupt: decoding failed ({_libsndfile_message(err)})") from None
            if len(data) < end - start:
                raise AudioError(path, _truncated(info.frames, start + len(data), info.sample_rate))
            bad = ~np.isfinite(data)
            if bad.any():
                frame, channel = divmod(int(np.argmax(bad)), data.shape[1])
                value = data[frame, channel]
                kind = "NaN" if np.isnan(value) else ("+inf" if value > 0 else "-inf")
                seconds = (start + frame) / info.sample_rate
                raise AudioError(path, f"non-finite sample ({kind}) at {seconds:.3f} s in channel {channel + 1}")
            yield start, data


def _truncated(declared: int, held: int, sample_rate: int) -> str:
    return (
        f"truncated: header declares {declared} frames ({declared / sample_rate:.3f} s), "
        f"file holds {held} ({held / sample_rate:.3f} s)"
    )


def _declared_frames(path: Path, info: AudioInfo) -> int | None:
    """The length a file's header promises, where libsndfile would silently shorten it.
    For WAV libsndfile trims the frame count to the bytes present, so the RIFF header is
    read directly; FLAC and OGG fail in decoding instead, so ``info.frames`` suffices."""
    if info.format in ("WAV", "WAVEX"):
        return _wav_data_frames(path)
    return info.frames


def _wav_data_frames(path: Path) -> int | None:
    """Frames declared by the ``data`` chunk of a RIFF/RIFX WAVE file, or None where the
    size is unknown (streamed WAVs write 0 or 0xFFFFFFFF)."""
    with open(path, "rb") as handle:
        head = handle.read(12)
        if len(head) < 12 or head[:4] not in (b"RIFF", b"RIFX") or head[8:12] != b"WAVE":
            return None
        endian = "<" if head[:4] == b"RIFF" else ">"
        block_align = None
        while True:
            chunk = handle.read(8)
            if len(chunk) < 8:
                return None
            chunk_id, size = chunk[:4], struct.unpack(endian + "I", chunk[4:])[0]
            if chunk_id == b"fmt ":
                fmt = handle.read(size + (size & 1))
                if len(fmt) >= 14:
                    block_align = struct.unpack(endian + "H", fmt[12:14])[0]
            elif chunk_id == b"data":
                if size in (0, 0xFFFFFFFF) or not block_align:
                    return None
                return size // block_align
            else:
                handle.seek(size + (size & 1), 1)


def _libsndfile_message(err: Exception) -> str:
    text = str(err)
    # libsndfile prefixes the path, which the AudioError message already carries.
    return text.split(": ", 1)[1] if ": " in text and text.startswith("Error") else text


def find_audio_files(root: str | Path, extensions=AUDIO_EXTENSIONS) -> list[Path]:
    """Every file under ``root`` with one of the extensions (any case), sorted, so the
    order is the same on every file system."""
    root = Path(root)
    suffixes = {"." + e.lower().lstrip(".") for e in extensions}
    return sorted(p for p in root.rglob("*") if p.is_file() and p.suffix.lower() in suffixes)
