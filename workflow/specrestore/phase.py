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
    ``known_spec``). ``initial_phase`` defaults to the phase of ``known_spec``."""
    phase = np.angle(known_spec) if initial_phase is None else initial_phase
    spec = magnitude * np.exp(1j * phase)
    spec[known] = known_spec[known]
    for _ in range(iterations):
        rebuilt = dsp.stft(dsp.istft(spec, params, length), params)
        spec = magnitude * np.exp(1j * np.angle(rebuilt))
        spec[known] = known_spec[known]
    return spec.astype(np.complex64)


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
