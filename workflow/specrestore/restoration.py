"""Restoring corrupted utterances with a method, and naming what was run.

A *system* is a method with, for methods that restore magnitudes, the phase they use:
``corrupted`` (the input as it is), ``lpc``, ``spectral_gating``, the peer denoisers
``deepfilternet3`` and ``rnnoise`` (:mod:`specrestore.peers`), and
``interp.corrupted``, ``interp.reconstruct``, ``interp.oracle`` (see
:mod:`specrestore.phase`). Restored audio always has the input's length. Where the
corruption only removed samples (gaps, lost packets), every sample outside the mask is
the input's own, bit for bit: restoration only writes inside the holes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import baselines, dsp, peers, phase

CLASSICAL_METHODS = ("corrupted", "interp", "lpc", "spectral_gating")
# Published denoisers run from their wheels: reference rows, never trained here.
PEER_METHODS = peers.METHODS
# What the pipeline runs without a model of its own (rule restore_classical).
UNTRAINED_METHODS = CLASSICAL_METHODS + PEER_METHODS
MODEL_METHODS = ("cnn8", "unet", "pix2pix", "mfccnet", "cunet")
# Methods that restore magnitudes and so need a phase; mfccnet's MFCC inversion makes its
# own, cunet restores the complex spectrum.
MAGNITUDE_METHODS = ("interp", "cnn8", "unet", "pix2pix")
METHOD_LABELS = {
    "corrupted": "corrupted input",
    "interp": "log-magnitude interpolation",
    "lpc": "LPC extrapolation",
    "spectral_gating": "spectral gating",
    **{name: peer.label for name, peer in peers.PEERS.items()},
    "cnn8": "CNN (8 blocks)",
    "unet": "U-Net",
    "pix2pix": "Pix2Pix",
    "mfccnet": "MFCC network",
    "cunet": "complex U-Net",
}


def applies(method: str, corruptions: list[str]) -> bool:
    """Whether a method has something to do for a task made of ``corruptions``."""
    if method == "corrupted":
        return True
    if method == "interp":
        return bool({"gap", "packetloss", "bandhole"} & set(corruptions))
    if method == "lpc":
        return bool({"gap", "packetloss"} & set(corruptions))
    if method == "spectral_gating" or method in PEER_METHODS:
        return "noise" in corruptions
    return True  # learned models restore every task they were trained for


def system_ids(methods: list[str], phases: list[str], corruptions: list[str]) -> list[str]:
    """The systems to run for a task, ``corrupted`` first, classical methods before
    models, each in the order given."""
    systems = []
    for method in sorted(methods, key=lambda m: (m != "corrupted", m in MODEL_METHODS)):
        if not applies(method, corruptions):
            continue
        if method in MAGNITUDE_METHODS:
            systems += [f"{method}.{mode}" for mode in phases]
        else:
            systems.append(method)
    return systems


def parse_system(system: str) -> tuple[str, str | None]:
    method, _, mode = system.partition(".")
    return method, (mode or None)


def learned_and_rivals(systems: list[str]) -> tuple[list[str], dict[str, list[str]]]:
    """The systems of ``systems`` trained here, and the others by kind (the corrupted
    input, classical methods, peer denoisers), each in the order given."""
    methods = {system: parse_system(system)[0] for system in systems}
    learned = [s for s in systems if methods[s] in MODEL_METHODS]
    rivals = {
        "corrupted input": [s for s in systems if s == "corrupted"],
        "classical method": [s for s in systems if methods[s] in CLASSICAL_METHODS and s != "corrupted"],
        "peer denoiser": [s for s in systems if methods[s] in PEER_METHODS],
    }
    return learned, rivals


def system_label(system: str) -> str:
    method, mode = parse_system(system)
    label = METHOD_LABELS.get(method, method)
    return f"{label} ({phase.PHASE_LABELS[mode]})" if mode else label


@dataclass
class Utterance:
    """What restoration may use. ``clean`` is only read by the oracle phase."""

    id: str
    corrupted: np.ndarray
    sample_mask: np.ndarray | None = None
    tf_mask: np.ndarray | None = None
    clean: np.ndarray | None = None


def compose(restored: np.ndarray, utterance: Utterance) -> np.ndarray:
    """Keep the input outside the holes where the corruption was purely temporal."""
    if utterance.sample_mask is not None and utterance.tf_mask is None:
        return np.where(utterance.sample_mask, restored, utterance.corrupted).astype(np.float32)
    return restored.astype(np.float32)


def restore_magnitude(
    magnitude: np.ndarray,
    mode: str,
    utterance: Utterance,
    corrupted_spec: np.ndarray,
    missing: np.ndarray,
    params: dsp.StftParams,
    iterations: int,
) -> np.ndarray:
    """Waveform from a restored magnitude spectrogram, with the phase ``mode`` asks for."""
    n = len(utterance.corrupted)
    clean_spec = dsp.stft(utterance.clean, params) if mode == "oracle" else None
    spec = phase.with_phase(magnitude, mode, corrupted_spec, missing, params, n, iterations, clean_spec)
    return compose(dsp.istft(spec, params, n), utterance)


def restore(system: str, utterance: Utterance, sample_rate: int, params: dsp.StftParams, options: dict) -> np.ndarray:
    """Restore one utterance with a classical or peer system. ``options`` holds the
    ``evaluation`` section of the config (LPC order, Griffin-Lim iterations, ...)."""
    method, mode = parse_system(system)
    x = utterance.corrupted
    if method == "corrupted":
        return x.astype(np.float32)
    if method == "lpc":
        if utterance.sample_mask is None:
            return x.astype(np.float32)
        lpc = options.get("lpc", {})
        return baselines.lpc_fill(
            x, utterance.sample_mask, sample_rate, lpc.get("order", 128), lpc.get("context_ms", 100.0)
        )
    if method == "spectral_gating":
        gating = options.get("spectral_gating", {})
        return baselines.spectral_gating(
            x, sample_rate, gating.get("stationary", False), gating.get("prop_decrease", 0.8)
        )
    if method in PEER_METHODS:
        return peers.denoise(method, x, sample_rate)
    if method == "interp":
        spec = dsp.stft(x, params)
        missing = baselines.missing_bins(spec.shape[1], params, utterance.sample_mask, utterance.tf_mask)
        magnitude = baselines.interpolate_log_magnitude(np.abs(spec), missing)
        return restore_magnitude(
            magnitude, mode, utterance, spec, missing, params, options.get("griffin_lim_iterations", 32)
        )
    raise ValueError(f"unknown classical or peer method {method!r}; known: {UNTRAINED_METHODS}")
