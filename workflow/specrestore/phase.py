"""Phase for magnitude-domain restoration.

A method that restores magnitudes needs a phase to go back to a waveform. Three
choices, named in every output that uses them:

- ``corrupted``: the phase of the corrupted input's STFT;
- ``reconstruct``: Griffin-Lim iterations that start from the corrupted phase and put
  the known time-frequency bins (those the corruption did not touch) back, magnitude
  and phase, at every iteration, so that only the restored bins get a new phase;
- ``oracle``: the clean signal's phase. It is an upper bound, not a method: it uses
  the answer.
"""

from __future__ import annotations

import numpy as np

from . import dsp

PHASE_MODES = ("corrupted", "reconstruct", "oracle")
PHASE_LABELS = {
    "corrupted": "corrupted phase",
    "reconstruct": "reconstructed phase",
    "oracle": "oracle phase, upper bound",
}


def griffin_lim_known(
    magnitude: np.ndarray,
    known: np.ndarray,
    known_spec: np.ndarray,
    params: dsp.StftParams,
    length: int,
    iterations: int,
    initial_phase: np.ndarray | None = None,
) -> np.ndarray:
    """Griffin-Lim with the bins where ``known`` is True fixed to ``known_spec``.

    Returns the complex STFT after the last iteration (its known bins equal
    ``known_spec``). ``initial_phase`` defaults to the phase of ``known_spec``.

    Only frames near a missing bin can change, so the iterations run on those stretches
    of frames alone, each with a margin of known frames wide enough that every sample
    under a changing frame is rebuilt from all the frames that cover it: the result is
    that of iterating over the whole spectrogram, and a few gaps cost a few gaps."""
    phase = np.angle(known_spec) if initial_phase is None else initial_phase
    spec = (magnitude * np.exp(1j * phase)).astype(np.complex64)
    spec[known] = known_spec[known]
    if iterations <= 0:
        return spec
    n_frames = spec.shape[1]
    margin = 2 * -(-params.n_fft // params.hop)
    for first, end in _stretches(~known.all(axis=0), margin):
        start = first * params.hop
        sub_length = length - start if end == n_frames else (end - first - 1) * params.hop
        spec[:, first:end] = _iterate(
            spec[:, first:end], magnitude[:, first:end], known[:, first:end], params, sub_length, iterations
        )
    return spec


def _stretches(changing: np.ndarray, margin: int) -> list[tuple[int, int]]:
    """Frame ranges [first, end) holding every True frame of ``changing`` with ``margin``
    frames on each side (cut at the ends), merged where they meet."""
    stretches: list[list[int]] = []
    for frame in np.flatnonzero(changing):
        first, end = max(0, frame - margin), min(len(changing), frame + margin + 1)
        if stretches and first <= stretches[-1][1]:
            stretches[-1][1] = end
        else:
            stretches.append([first, end])
    return [(first, end) for first, end in stretches]


def _iterate(spec, magnitude, known, params, length, iterations):
    fixed = spec[known]
    for _ in range(iterations):
        rebuilt = dsp.stft(dsp.istft(spec, params, length), params)
        spec = (magnitude * np.exp(1j * np.angle(rebuilt))).astype(np.complex64)
        spec[known] = fixed
    return spec


def inconsistency(spec: np.ndarray, params: dsp.StftParams, length: int) -> float:
    """Relative distance between a spectrogram and the STFT of its own inverse; zero
    for any STFT of a real signal."""
    rebuilt = dsp.stft(dsp.istft(spec, params, length), params)
    return float(np.linalg.norm(rebuilt - spec) / max(np.linalg.norm(spec), 1e-30))


def with_phase(
    magnitude: np.ndarray,
    mode: str,
    corrupted_spec: np.ndarray,
    missing: np.ndarray,
    params: dsp.StftParams,
    length: int,
    iterations: int = 32,
    clean_spec: np.ndarray | None = None,
) -> np.ndarray:
    """A complex spectrogram with ``magnitude`` and the phase ``mode`` asks for.
    ``missing`` marks the bins the corruption destroyed (True)."""
    if mode == "corrupted":
        return (magnitude * np.exp(1j * np.angle(corrupted_spec))).astype(np.complex64)
    if mode == "oracle":
        if clean_spec is None:
            raise ValueError("oracle phase needs the clean signal")
        return (magnitude * np.exp(1j * np.angle(clean_spec))).astype(np.complex64)
    if mode == "reconstruct":
        return griffin_lim_known(magnitude, ~missing, corrupted_spec, params, length, iterations)
    raise ValueError(f"unknown phase mode {mode!r}; choose one of {PHASE_MODES}")
