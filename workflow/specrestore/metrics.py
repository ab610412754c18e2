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
import warnings
from contextlib import contextmanager

import numpy as np

from . import baselines, dsp
from .seeding import stable_hash

LSD_FLOOR_DB = 80.0
MAX_RATIO_DB = 100.0
INTRUSIVE = ("pesq", "stoi", "estoi", "lsd", "lsd_seed2", "snr", "si_sdr", "region_snr", "region_lsd")
NON_INTRUSIVE = ("plcmos", "dnsmos_sig", "dnsmos_bak", "dnsmos_ovrl")
METRICS = INTRUSIVE + NON_INTRUSIVE
HIGHER_IS_BETTER = {m: m not in ("lsd", "lsd_seed2", "region_lsd") for m in METRICS}
UNITS = {"lsd": "dB", "region_lsd": "dB", "snr": "dB", "si_sdr": "dB", "region_snr": "dB"}


class Missing(Exception):
    """A metric that cannot be computed for this utterance; the message says why."""


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


def stoi_score(reference: np.ndarray, degraded: np.ndarray, sample_rate: int, extended: bool) -> float:
    from pystoi import stoi

    if not np.any(reference):
        raise Missing("silent reference")
    # ESTOI adds machine-epsilon noise drawn from NumPy's global generator, which every
    # process seeds from the OS; unfixed, the last digits of a score (and so of the
    # tables) would change from run to run.
    with warnings.catch_warnings(record=True) as caught, _global_numpy_rng(0):
        warnings.simplefilter("always")
        value = stoi(reference, degraded, sample_rate, extended=extended)
    for warning in caught:
        if "Not enough STFT frames" in str(warning.message):
            raise Missing("too short for STOI: fewer than 30 frames of speech")
    return float(value)


def si_sdr(reference: np.ndarray, degraded: np.ndarray) -> float:
    reference = reference.astype(np.float64)
    degraded = degraded.astype(np.float64)
    energy = _energy(reference)
    if energy <= 0:
        raise Missing("silent reference")
    target = (np.dot(degraded, reference) / energy) * reference
    return _ratio_db(_energy(target), _energy(degraded - target))


def _log_power_difference(reference_spec: np.ndarray, degraded_spec: np.ndarray) -> np.ndarray:
    ref_power = np.abs(reference_spec) ** 2
    deg_power = np.abs(degraded_spec) ** 2
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

    _, _, ref = scipy.signal.spectrogram(reference, sample_rate)
    _, _, deg = scipy.signal.spectrogram(degraded, sample_rate)
    with np.errstate(divide="ignore", invalid="ignore"):
        difference = (np.log10(np.abs(ref) ** 2) - np.log10(np.abs(deg) ** 2)) ** 2
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
    ref_energy = float(np.sum(np.abs(ref_spec[region]) ** 2))
    if ref_energy <= 0:
        raise Missing("reference is silent inside the corrupted region")
    return _ratio_db(ref_energy, float(np.sum(np.abs(ref_spec[region] - deg_spec[region]) ** 2)))


class NonIntrusive:
    """PLCMOS and DNSMOS from ``speechmos``, with ONNX sessions held to ``threads``
    threads (speechmos's own sessions would take every core of the machine)."""

    def __init__(self, threads: int = 1):
        self.threads = threads
        self._plcmos = None
        self._dnsmos = None

    def _session(self, path: str):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = self.threads
        options.inter_op_num_threads = 1
        return onnxruntime.InferenceSession(path, sess_options=options, providers=["CPUExecutionProvider"])

    def plcmos(self, degraded: np.ndarray, sample_rate: int, utt_id: str) -> float:
        from speechmos import plcmos

        if self._plcmos is None:
            model = plcmos.PLCMOS.__new__(plcmos.PLCMOS)
            model.model_name, model.max_lens, model.embed_rounds = "plcmos_v2", 999999999999, 15
            model.model_path = _model_path(plcmos, "plcmos_models", "plcmos_v2.onnx")
            model.session = self._session(model.model_path)
            self._plcmos = model
        audio = _at_16k(degraded, sample_rate)
        # PLCMOS averages over random "rater" embeddings drawn from numpy's global
        # generator; seeding it per utterance makes the score reproducible.
        with _global_numpy_rng(stable_hash("plcmos", utt_id) % 2**32):
            return float(self._plcmos.get_mos(audio, 16000))

    def dnsmos(self, degraded: np.ndarray, sample_rate: int) -> dict[str, float]:
        from speechmos import dnsmos

        if self._dnsmos is None:
            model = dnsmos.DNSMOS.__new__(dnsmos.DNSMOS)
            model.primary_model_path = _model_path(dnsmos, "dnsmos_models", "sig_bak_ovr.onnx")
            model.onnx_sess = self._session(model.primary_model_path)
            model.p808_onnx_sess = self._session(_model_path(dnsmos, "dnsmos_models", "model_v8.onnx"))
            self._dnsmos = model
        scores = self._dnsmos(_at_16k(degraded, sample_rate), 16000, False)
        return {"dnsmos_sig": scores["sig_mos"], "dnsmos_bak": scores["bak_mos"], "dnsmos_ovrl": scores["ovrl_mos"]}


def _model_path(module, folder: str, name: str) -> str:
    import os

    return os.path.join(os.path.dirname(os.path.abspath(module.__file__)), folder, name)


def _at_16k(x: np.ndarray, sample_rate: int) -> np.ndarray:
    x = dsp.resample(x, sample_rate, 16000)
    if np.max(np.abs(x)) > 1:
        raise Missing("samples beyond full scale")
    return x


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

    def spectra():
        if not specs:
            specs["ref"], specs["deg"] = dsp.stft(reference, params), dsp.stft(degraded, params)
        return specs["ref"], specs["deg"]

    def region_lsd():
        ref_spec, deg_spec = spectra()
        if sample_mask is None and tf_mask is None:
            return lsd(ref_spec, deg_spec)
        return lsd(ref_spec, deg_spec, baselines.missing_bins(ref_spec.shape[1], params, sample_mask, tf_mask))

    compute = {
        "pesq": lambda: pesq_score(reference, degraded, sample_rate),
        "stoi": lambda: stoi_score(reference, degraded, sample_rate, extended=False),
        "estoi": lambda: stoi_score(reference, degraded, sample_rate, extended=True),
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
