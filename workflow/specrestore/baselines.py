"""Classical restoration methods, the rows every learned model has to beat.

- ``interp``: log-magnitude interpolation across the hole, along time for dropouts
  and along frequency for band holes (seed 3's interpolation baseline);
- ``lpc``: autoregressive extrapolation into a gap from both sides, cross-faded
  (Etter 1996; seed 3's LPC baseline), in the time domain;
- ``spectral_gating``: the ``noisereduce`` package's spectral gating denoiser.
"""

from __future__ import annotations

import numpy as np
import scipy.signal

from . import dsp


def frames_touching(sample_mask: np.ndarray, params: dsp.StftParams) -> np.ndarray:
    """Frames whose analysis window overlaps a masked sample (frame t spans samples
    [t*hop - n_fft/2, t*hop + n_fft/2) of the signal)."""
    n = len(sample_mask)
    starts = np.arange(params.n_frames(n)) * params.hop - params.n_fft // 2
    counts = np.concatenate([[0], np.cumsum(sample_mask, dtype=np.int64)])
    return counts[np.clip(starts + params.n_fft, 0, n)] - counts[np.clip(starts, 0, n)] > 0


def missing_bins(
    n_frames: int, params: dsp.StftParams, sample_mask: np.ndarray | None, tf_mask: np.ndarray | None
) -> np.ndarray:
    """Time-frequency bins a corruption destroyed: band holes, and every bin of a frame
    that overlaps a dropout."""
    missing = np.zeros((params.n_freq, n_frames), dtype=bool)
    if tf_mask is not None:
        missing |= tf_mask
    if sample_mask is not None:
        missing[:, frames_touching(sample_mask, params)] = True
    return missing


def _log_floor(magnitude: np.ndarray) -> float:
    # -120 dB below the loudest bin: silence stays finite without drowning real detail.
    return max(float(magnitude.max()) * 1e-6, 1e-12)


def _interpolate_runs(values: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """Fill the missing positions of the last axis linearly between the nearest known
    neighbours; an edge run copies its one neighbour. ``missing`` is 1-D over that axis."""
    out = values.copy()
    n = values.shape[-1]
    for start, end in dsp.true_runs(missing):
        left, right = start - 1, end
        if left < 0 and right >= n:
            continue
        if left < 0:
            out[..., start:end] = values[..., right : right + 1]
        elif right >= n:
            out[..., start:end] = values[..., left : left + 1]
        else:
            weight = (np.arange(start, end) - left) / (right - left)
            out[..., start:end] = (1 - weight) * values[..., left : left + 1] + weight * values[..., right : right + 1]
    return out


def interpolate_log_magnitude(magnitude: np.ndarray, missing: np.ndarray) -> np.ndarray:
    """Fill ``missing`` bins of a magnitude spectrogram by linear interpolation of the
    log-magnitude: along frequency inside frames that still have known bins (band
    holes), then along time across frames with no known bin (dropouts)."""
    floor = _log_floor(magnitude)
    log_mag = np.log(np.maximum(magnitude, floor))
    whole_frames = missing.all(axis=0)
    partial = missing.any(axis=0) & ~whole_frames
    if partial.any():
        # Frames with the same pattern of holes are interpolated together.
        patterns, inverse = np.unique(missing[:, partial], axis=1, return_inverse=True)
        columns = np.flatnonzero(partial)
        for index in range(patterns.shape[1]):
            frames = columns[inverse.ravel() == index]
            log_mag[:, frames] = _interpolate_runs(log_mag[:, frames].T, patterns[:, index]).T
    if whole_frames.any():
        log_mag = _interpolate_runs(log_mag, whole_frames)
    restored = np.exp(log_mag).astype(np.float32)
    return np.where(missing, restored, magnitude).astype(np.float32)


def lpc_extrapolate(context: np.ndarray, order: int, length: int) -> np.ndarray | None:
    """Continue ``context`` by ``length`` samples with its autoregressive model (Burg's
    method, librosa.lpc), or None when the context is too short or silent."""
    import librosa

    order = min(order, len(context) // 2)
    if order < 2 or not np.any(context):
        return None
    context = context.astype(np.float64)
    try:
        coefficients = librosa.lpc(context, order=order)
    except (FloatingPointError, ValueError):
        return None
    # The AR filter driven by silence, started from the last `order` samples.
    state = scipy.signal.lfiltic([1.0], coefficients, context[::-1][:order])
    prediction, _ = scipy.signal.lfilter([1.0], coefficients, np.zeros(length), zi=state)
    return prediction


def lpc_fill(
    x: np.ndarray,
    sample_mask: np.ndarray,
    sample_rate: int,
    order: int = 128,
    context_ms: float = 100.0,
    within: tuple[int, int] | None = None,
) -> np.ndarray:
    """Fill each masked span with a raised-cosine cross-fade of a forward prediction
    from the left context and a backward prediction from the right context (Etter's
    two-sided AR interpolation). Context stops at the neighbouring span, so each span's
    fill depends on the input alone; ``within`` (start, end) fills only the spans that
    overlap those samples, exactly as a full fill would. Samples outside the mask are
    returned unchanged, bit for bit."""
    out = np.asarray(x, dtype=np.float32).copy()
    spans = dsp.true_runs(sample_mask)
    context = max(1, int(round(context_ms * sample_rate / 1000)))
    for index, (start, end) in enumerate(spans):
        if within is not None and (end <= within[0] or start >= within[1]):
            continue
        left_limit = spans[index - 1][1] if index > 0 else 0
        right_limit = spans[index + 1][0] if index + 1 < len(spans) else len(out)
        length = end - start
        forward = lpc_extrapolate(out[max(left_limit, start - context) : start], order, length)
        right = out[end : min(right_limit, end + context)]
        backward = lpc_extrapolate(right[::-1], order, length)
        if backward is not None:
            backward = backward[::-1]
        if forward is not None and backward is not None:
            fade = 0.5 * (1 + np.cos(np.pi * (np.arange(length) + 0.5) / length))
            fill = fade * forward + (1 - fade) * backward
        elif forward is not None or backward is not None:
            fill = forward if forward is not None else backward
        else:
            continue
        out[start:end] = fill.astype(np.float32)
    return out


def spectral_gating(
    x: np.ndarray, sample_rate: int, stationary: bool = False, prop_decrease: float = 0.8
) -> np.ndarray:
    """noisereduce's spectral gating, on one core; same length as the input."""
    import noisereduce

    y = noisereduce.reduce_noise(
        y=np.asarray(x, dtype=np.float32),
        sr=sample_rate,
        stationary=stationary,
        prop_decrease=prop_decrease,
        n_jobs=1,
    )
    y = np.asarray(y, dtype=np.float32)
    if len(y) != len(x):
        y = np.resize(y, len(x)) if len(y) > len(x) else np.pad(y, (0, len(x) - len(y)))
    return y
