"""Per-utterance quality metrics, each defined here once.

Intrusive (against the clean reference):

- ``pesq``: ITU-T P.862 (``pesq`` package); wide band at 16 kHz, narrow band at 8 kHz;
  any other rate is resampled to 16 kHz and scored wide band.
- ``stoi``, ``estoi``: short-time objective intelligibility and its extended form
  (``pystoi``).
- ``lsd``: log-spectral distance in dB,
  ``mean over frames of sqrt(mean over bins of (10 log10 P_ref - 10 log10 P_deg)^2)``,
  with P the power spectrum |X|^2 of the pipeline's STFT (its n_fft, hop and window),
  every frame counted, and both spectra floored at ``LSD_FLOOR_DB`` (80 dB) below the
  reference's strongest bin: a hard zero in a band hole counts as an 80 dB error, not
  an infinite one.
- ``lsd_seed2``: the variant seed 2 (Deep Speech Inpainting) reported, kept as it was
  written so that its table can be compared: ``scipy.signal.spectrogram`` with its
  defaults (256-sample Tukey window, 32 samples overlap, PSD scaling), ``log10`` of the
  *squared* PSD, no dB factor, no floor (an utterance whose spectrum has an exact zero
  is missing, as seed 2 dropped them).
- ``snr``, ``si_sdr``: over the whole utterance, in dB (SI-SDR: Le Roux et al. 2019);
  every SNR is capped at 100 dB, which only an exact match reaches.
- ``region_snr``, ``region_lsd``: inside the corrupted region only. For dropouts
  (sample mask, no band holes) ``region_snr`` uses exactly the masked samples; where
  band holes are involved both are computed over the destroyed STFT bins (complex
  error for the SNR). For noise, which corrupts everything, the region is the whole
  utterance.

Non-intrusive (``speechmos``, ONNX models shipped in its wheel, 16 kHz):
``plcmos`` (tasks with dropouts) and ``dnsmos_sig``, ``dnsmos_bak``, ``dnsmos_ovrl``
(tasks with noise).

A metric that cannot be computed is recorded as missing (NaN) with the reason in the
``<metric>_missing`` column; it never stops a job.
"""

from __future__ import annotations

import math
import time
from contextlib import contextmanager

import numpy as np

from . import baselines, dsp
from .nonintrusive import Missing, NonIntrusive  # both are part of the metric API

LSD_FLOOR_DB = 80.0
MAX_RATIO_DB = 100.0
INTRUSIVE = ("pesq", "stoi", "estoi", "lsd", "lsd_seed2", "snr", "si_sdr", "region_snr", "region_lsd")
NON_INTRUSIVE = ("plcmos", "dnsmos_sig", "dnsmos_bak", "dnsmos_ovrl")
METRICS = INTRUSIVE + NON_INTRUSIVE
HIGHER_IS_BETTER = {m: m not in ("lsd", "lsd_seed2", "region_lsd") for m in METRICS}
UNITS = {"lsd": "dB", "region_lsd": "dB", "snr": "dB", "si_sdr": "dB", "region_snr": "dB"}


def _energy(x: np.ndarray) -> float:
    return float(np.sum(np.square(x, dtype=np.float64)))


def _ratio_db(signal_energy: float, error_energy: float) -> float:
    """Energy ratio in dB, capped at ``MAX_RATIO_DB`` so that an exact match stays a
    finite number in means and tables."""
    if signal_energy <= 0:
        raise Missing("silent reference")
    if error_energy <= signal_energy * 10 ** (-MAX_RATIO_DB / 10):
        return MAX_RATIO_DB
    return 10 * math.log10(signal_energy / error_energy)


def pesq_score(reference: np.ndarray, degraded: np.ndarray, sample_rate: int) -> float:
    from pesq import pesq

    if sample_rate not in (8000, 16000):
        reference = dsp.resample(reference, sample_rate, 16000)
        degraded = dsp.resample(degraded, sample_rate, 16000)
        sample_rate = 16000
    mode = "wb" if sample_rate == 16000 else "nb"
    if not np.any(reference):
        raise Missing("silent reference")
    try:
        return float(pesq(sample_rate, reference.astype(np.float64), degraded.astype(np.float64), mode))
    except Exception as err:  # the pesq package has its own exception per failure
        raise Missing(f"pesq: {type(err).__name__}: {err}".strip(": ")) from None


@contextmanager
def _global_numpy_rng(seed: int):
    state = np.random.get_state()
    np.random.seed(seed)
    try:
        yield
    finally:
        np.random.set_state(state)


def stoi_scores(reference: np.ndarray, degraded: np.ndarray, sample_rate: int) -> tuple[float, float]:
    """STOI and ESTOI together: ``pystoi.stoi``'s own steps (resampling to 10 kHz,
    silent-frame removal, STFT, third-octave bands), done once for both, then each
    measure as pystoi finishes it; each value is the one ``pystoi.stoi`` returns."""
    import importlib

    from pystoi import utils

    # The package's ``stoi`` attribute is the function; its constants live in the module.
    pystoi_stoi = importlib.import_module("pystoi.stoi")

    if not np.any(reference):
        raise Missing("silent reference")
    x, y, fs = reference, degraded, pystoi_stoi.FS
    if x.shape != y.shape:
        raise ValueError(f"reference has shape {x.shape}, degraded {y.shape}")
    if sample_rate != fs:
        x, y = utils.resample_oct(x, fs, sample_rate), utils.resample_oct(y, fs, sample_rate)
    frame, n = pystoi_stoi.N_FRAME, pystoi_stoi.N
    x, y = utils.remove_silent_frames(x, y, pystoi_stoi.DYN_RANGE, frame, int(frame / 2))
    x_spec = utils.stft(x, frame, pystoi_stoi.NFFT, overlap=2).transpose()
    y_spec = utils.stft(y, frame, pystoi_stoi.NFFT, overlap=2).transpose()
    if x_spec.shape[-1] < n:
        raise Missing("too short for STOI: fewer than 30 frames of speech")
    x_tob = np.sqrt(np.matmul(pystoi_stoi.OBM, np.square(np.abs(x_spec))))
    y_tob = np.sqrt(np.matmul(pystoi_stoi.OBM, np.square(np.abs(y_spec))))
    x_segments = np.array([x_tob[:, m - n : m] for m in range(n, x_tob.shape[1] + 1)])
    y_segments = np.array([y_tob[:, m - n : m] for m in range(n, x_tob.shape[1] + 1)])

    # ESTOI adds machine-epsilon noise drawn from NumPy's global generator, which every
    # process seeds from the OS; unfixed, the last digits of a score (and so of the
    # tables) would change from run to run.
    with _global_numpy_rng(0):
        x_n = utils.row_col_normalize(x_segments)
        y_n = utils.row_col_normalize(y_segments)
    extended = np.sum(x_n * y_n / n) / x_n.shape[0]

    eps = utils.EPS
    normalization = np.linalg.norm(x_segments, axis=2, keepdims=True) / (
        np.linalg.norm(y_segments, axis=2, keepdims=True) + eps
    )
    clip_value = 10 ** (-pystoi_stoi.BETA / 20)
    y_primes = np.minimum(y_segments * normalization, x_segments * (1 + clip_value))
    y_primes = y_primes - np.mean(y_primes, axis=2, keepdims=True)
    x_segments = x_segments - np.mean(x_segments, axis=2, keepdims=True)
    y_primes /= np.linalg.norm(y_primes, axis=2, keepdims=True) + eps
    x_segments /= np.linalg.norm(x_segments, axis=2, keepdims=True) + eps
    plain = np.sum(y_primes * x_segments) / (x_segments.shape[0] * x_segments.shape[1])
    return float(plain), float(extended)


def stoi_score(reference: np.ndarray, degraded: np.ndarray, sample_rate: int, extended: bool) -> float:
    return stoi_scores(reference, degraded, sample_rate)[1 if extended else 0]


def si_sdr(reference: np.ndarray, degraded: np.ndarray) -> float:
    reference = reference.astype(np.float64)
    degraded = degraded.astype(np.float64)
    energy = _energy(reference)
    if energy <= 0:
        raise Missing("silent reference")
    target = (np.dot(degraded, reference) / energy) * reference
    return _ratio_db(_energy(target), _energy(degraded - target))


def _power(spec: np.ndarray) -> np.ndarray:
    """|X|^2 in float64, where a float32 part squares exactly. NumPy picks its float32
    routines (|X|, the logarithm) for the CPU, and they moved LSD in its 7th digit
    between an AVX-512 and an AVX2 host; in float64 such routines differ by an ulp."""
    return np.square(spec.real, dtype=np.float64) + np.square(spec.imag, dtype=np.float64)


def _log_power_difference(reference_spec: np.ndarray, degraded_spec: np.ndarray) -> np.ndarray:
    ref_power = _power(reference_spec)
    deg_power = _power(degraded_spec)
    peak = float(ref_power.max())
    if peak <= 0:
        raise Missing("silent reference")
    floor = peak * 10 ** (-LSD_FLOOR_DB / 10)
    return 10 * np.log10(np.maximum(ref_power, floor)) - 10 * np.log10(np.maximum(deg_power, floor))


def lsd(reference_spec: np.ndarray, degraded_spec: np.ndarray, region: np.ndarray | None = None) -> float:
    """Log-spectral distance (dB) between two STFTs (frequency x frames); with
    ``region``, only its bins, averaged over the frames that have any."""
    difference = _log_power_difference(reference_spec, degraded_spec) ** 2
    if region is None:
        return float(np.mean(np.sqrt(difference.mean(axis=0))))
    counts = region.sum(axis=0)
    frames = counts > 0
    if not frames.any():
        raise Missing("empty corrupted region")
    per_frame = np.sqrt(np.where(region, difference, 0).sum(axis=0)[frames] / counts[frames])
    return float(per_frame.mean())


def lsd_seed2(reference: np.ndarray, degraded: np.ndarray, sample_rate: int) -> float:
    """Seed 2's LSD, as published (see the module docstring)."""
    import scipy.signal

    # In float64, for the reason given at _power.
    _, _, ref = scipy.signal.spectrogram(np.asarray(reference, dtype=np.float64), sample_rate)
    _, _, deg = scipy.signal.spectrogram(np.asarray(degraded, dtype=np.float64), sample_rate)
    with np.errstate(divide="ignore", invalid="ignore"):
        difference = (np.log10(ref**2) - np.log10(deg**2)) ** 2
        value = float(np.mean(np.sqrt(np.mean(difference, axis=0))))
    if not math.isfinite(value):
        raise Missing("log of a zero spectrum (seed 2 dropped such utterances)")
    return value


def region_snr(
    reference: np.ndarray,
    degraded: np.ndarray,
    sample_mask: np.ndarray | None,
    tf_mask: np.ndarray | None,
    params: dsp.StftParams,
) -> float:
    if tf_mask is None and sample_mask is None:
        return _ratio_db(_energy(reference), _energy(degraded.astype(np.float64) - reference))
    if tf_mask is None:
        if not sample_mask.any():
            raise Missing("empty corrupted region")
        ref = reference[sample_mask].astype(np.float64)
        return _ratio_db(_energy(ref), _energy(degraded[sample_mask] - ref))
    ref_spec, deg_spec = dsp.stft(reference, params), dsp.stft(degraded, params)
    region = baselines.missing_bins(ref_spec.shape[1], params, sample_mask, tf_mask)
    if not region.any():
        raise Missing("empty corrupted region")
    ref_energy = float(np.sum(_power(ref_spec[region])))
    if ref_energy <= 0:
        raise Missing("reference is silent inside the corrupted region")
    return _ratio_db(ref_energy, float(np.sum(_power(ref_spec[region] - deg_spec[region]))))


def metrics_for(corruptions: list[str]) -> list[str]:
    """The metrics a task is scored with: every intrusive one, PLCMOS where there are
    dropouts, DNSMOS where there is noise."""
    chosen = list(INTRUSIVE)
    if {"gap", "packetloss"} & set(corruptions):
        chosen.append("plcmos")
    if "noise" in corruptions:
        chosen += ["dnsmos_sig", "dnsmos_bak", "dnsmos_ovrl"]
    return chosen


def evaluate(
    reference: np.ndarray,
    degraded: np.ndarray,
    sample_rate: int,
    params: dsp.StftParams,
    metrics: list[str],
    sample_mask: np.ndarray | None = None,
    tf_mask: np.ndarray | None = None,
    utt_id: str = "",
    non_intrusive: NonIntrusive | None = None,
    timings: dict[str, float] | None = None,
) -> dict:
    """Every requested metric of one utterance: ``{metric: value or NaN,
    metric_missing: reason or None}``. ``timings`` (if given) accumulates seconds per
    metric."""
    reference = np.asarray(reference, dtype=np.float32)
    degraded = np.asarray(degraded, dtype=np.float32)
    if len(reference) != len(degraded):
        raise ValueError(f"{utt_id}: reference has {len(reference)} samples, restored has {len(degraded)}")
    non_intrusive = non_intrusive or NonIntrusive()
    specs: dict[str, np.ndarray] = {}
    shared: dict = {}

    def spectra():
        if not specs:
            specs["ref"], specs["deg"] = dsp.stft(reference, params), dsp.stft(degraded, params)
        return specs["ref"], specs["deg"]

    def both_stoi():
        if "stoi" not in shared:
            try:
                shared["stoi"] = stoi_scores(reference, degraded, sample_rate)
            except Missing as reason:
                shared["stoi"] = reason
        if isinstance(shared["stoi"], Missing):
            raise shared["stoi"]
        return shared["stoi"]

    def region_lsd():
        ref_spec, deg_spec = spectra()
        if sample_mask is None and tf_mask is None:
            return lsd(ref_spec, deg_spec)
        return lsd(ref_spec, deg_spec, baselines.missing_bins(ref_spec.shape[1], params, sample_mask, tf_mask))

    compute = {
        "pesq": lambda: pesq_score(reference, degraded, sample_rate),
        "stoi": lambda: both_stoi()[0],
        "estoi": lambda: both_stoi()[1],
        "lsd": lambda: lsd(*spectra()),
        "lsd_seed2": lambda: lsd_seed2(reference, degraded, sample_rate),
        "snr": lambda: _ratio_db(_energy(reference), _energy(degraded.astype(np.float64) - reference)),
        "si_sdr": lambda: si_sdr(reference, degraded),
        "region_snr": lambda: region_snr(reference, degraded, sample_mask, tf_mask, params),
        "region_lsd": region_lsd,
        "plcmos": lambda: non_intrusive.plcmos(degraded, sample_rate, utt_id),
    }
    row: dict = {}
    for metric in metrics:
        started = time.perf_counter()
        if metric.startswith("dnsmos"):
            if metric in row:
                continue
            group = ["dnsmos_sig", "dnsmos_bak", "dnsmos_ovrl"]
            try:
                scores = non_intrusive.dnsmos(degraded, sample_rate)
                row.update({m: float(scores[m]) for m in group} | {f"{m}_missing": None for m in group})
            except Missing as reason:
                row.update({m: math.nan for m in group} | {f"{m}_missing": str(reason) for m in group})
        else:
            try:
                row[metric], row[f"{metric}_missing"] = float(compute[metric]()), None
            except Missing as reason:
                row[metric], row[f"{metric}_missing"] = math.nan, str(reason)
        if timings is not None:
            timings[metric] = timings.get(metric, 0.0) + time.perf_counter() - started
    return row
