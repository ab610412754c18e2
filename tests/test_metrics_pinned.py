"""Every metric of a few utterances, pinned to the values that the metrics gave before
scoring was made faster (commit d7eec23: speechmos's own DNSMOS and PLCMOS procedures,
pystoi's ``stoi`` called once per measure). The three LSDs were pinned again when their
powers and logarithms moved to float64: NumPy picks its float32 routines for the CPU,
and they moved the LSDs in the 7th digit between an AVX-512 and an AVX2 host.

On the machine that pinned them the values agree to the last bit. Across machines, the
BLAS and ONNX Runtime kernels that NumPy and the models pick for the CPU sum in a
different order (SI-SDR's dot product and ESTOI's matrix products move in the 15th to
16th digit between two CI hosts), so the pins hold to 1e-12 relative, and the scores
of the float32 networks (PLCMOS, DNSMOS) to 1e-6, a float32 network's rounding: far
below any real change of a score (a window more or less moves DNSMOS by about 1e-2),
far above the kernels' rounding. Last-bit equality with the
reference procedures on the same machine is tested live: DNSMOS and PLCMOS against
speechmos in test_nonintrusive.py, STOI and ESTOI against pystoi below.

The cases cover DNSMOS's window rules: a clip doubled eight times to reach 9.01 s, one
doubled once, clips of 14 and 17 s, and one of 24 s in which speechmos skips windows 7
to 13 (their end, ``(idx + 9.01) * 16000``, truncates one sample short).

``python tests/test_metrics_pinned.py`` prints the current values in the form below.
Another CPU is emulated on this one by switching off NumPy's SIMD extensions beyond
its baseline (``NPY_DISABLE_CPU_FEATURES``): the scores must keep their pins.
"""

import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow"))

from specrestore import dsp, metrics
from specrestore.audio import read_audio

SR = 16000
PARAMS = dsp.StftParams(512, 128)
EVERY_METRIC = [*metrics.INTRUSIVE, *metrics.NON_INTRUSIVE]
REALMINI_FILES = {
    "arctic": ["cmu_arctic/bdl/arctic_a0030.wav"],
    "lj": ["ljspeech/LJ/LJ001-0030.flac"],
    "libri14": ["librispeech/103/103-1240-0000.flac"],
    "libri24": ["librispeech/229/229-130880-0000.flac", "ljspeech/LJ/LJ001-0030.flac"],
}
# (case, speech, corruption): gaps are zeroed spans scored with their sample mask.
CASES = [
    ("arctic_gaps", "arctic", "gaps"),
    ("lj_noise", "lj", "noise"),
    ("libri14_gaps_noise", "libri14", "gaps_noise"),
    ("libri24_noise", "libri24", "noise"),
    ("synthetic_noise", "synthetic", "noise"),
]

PINNED = {
    "arctic_gaps": {
        "pesq": 1.4043431282043457,
        "stoi": 0.8540261993594265,
        "estoi": 0.7733053909188855,
        "lsd": 3.8626442716492124,
        "lsd_seed2": math.nan,
        "snr": 7.7749807025555295,
        "si_sdr": 6.981860702133453,
        "region_snr": 0.0,
        "region_lsd": 23.032804730945305,
        "plcmos": 2.7535783290863036,
        "dnsmos_sig": 2.863045971573207,
        "dnsmos_bak": 3.980492386047163,
        "dnsmos_ovrl": 2.659829834923814,
    },
    "lj_noise": {
        "pesq": 1.0307509899139404,
        "stoi": 0.8463465345472881,
        "estoi": 0.6515983983296234,
        "lsd": 29.49527153068863,
        "lsd_seed2": 6.576610300550318,
        "snr": 5.000000033170124,
        "si_sdr": 5.005998317074367,
        "region_snr": 5.000000033170124,
        "region_lsd": 29.49527153068863,
        "plcmos": 2.2436206499735514,
        "dnsmos_sig": 3.09213179822913,
        "dnsmos_bak": 1.6194063852168303,
        "dnsmos_ovrl": 1.7567672807649912,
    },
    "libri14_gaps_noise": {
        "pesq": 1.054085612297058,
        "stoi": 0.6634396581835216,
        "estoi": 0.5045454920587601,
        "lsd": 21.315398841671087,
        "lsd_seed2": math.nan,
        "snr": 4.205788817219622,
        "si_sdr": 3.451672930965306,
        "region_snr": 0.0,
        "region_lsd": 21.7323837973918,
        "plcmos": 1.6015037616093954,
        "dnsmos_sig": 2.981176472124,
        "dnsmos_bak": 2.2316997202190114,
        "dnsmos_ovrl": 1.9503087043794196,
    },
    "libri24_noise": {
        "pesq": 1.033197045326233,
        "stoi": 0.800748262356252,
        "estoi": 0.5760418048170743,
        "lsd": 29.536547276839908,
        "lsd_seed2": 6.626647450289923,
        "snr": 5.000000399694448,
        "si_sdr": 5.005789990970031,
        "region_snr": 5.000000399694448,
        "region_lsd": 29.536547276839908,
        "plcmos": 1.5272058963775634,
        "dnsmos_sig": 3.4189651465658693,
        "dnsmos_bak": 1.754362338328201,
        "dnsmos_ovrl": 1.9313198947061945,
    },
    "synthetic_noise": {
        "pesq": 1.1178306341171265,
        "stoi": 0.9078394545668329,
        "estoi": 0.38627824991635,
        "lsd": 25.109887328611237,
        "lsd_seed2": 4.991055053012178,
        "snr": 5.000000264290273,
        "si_sdr": 4.996521388996572,
        "region_snr": 5.000000264290273,
        "region_lsd": 25.109887328611237,
        "plcmos": 2.009829378128052,
        "dnsmos_sig": 1.7757667774821226,
        "dnsmos_bak": 1.290720502902589,
        "dnsmos_ovrl": 1.3067949092871367,
    },
}


def synthetic_voice(seconds: float = 5.0) -> np.ndarray:
    """A voiced, syllable-modulated harmonic signal with breath noise: speech-like
    enough for every metric, and made only with NumPy's seeded generator."""
    rng = np.random.default_rng(2026)
    t = np.arange(int(seconds * SR)) / SR
    f0 = 120 + 20 * np.sin(2 * np.pi * 0.7 * t)
    phase = 2 * np.pi * np.cumsum(f0) / SR
    voiced = sum(np.sin(k * phase) / k for k in range(1, 30))
    envelope = np.clip(np.sin(2 * np.pi * 3.1 * t), 0, None) ** 2
    x = envelope * voiced + 0.01 * rng.standard_normal(len(t))
    return (0.1 * x / np.max(np.abs(x))).astype(np.float32)


def load_speech(name: str, realmini: Path | None) -> np.ndarray:
    if name == "synthetic":
        return synthetic_voice()
    if realmini is None:
        pytest.skip("real speech not available: ../shared/data/realmini is absent")
    parts = []
    for relative in REALMINI_FILES[name]:
        data, rate = read_audio(realmini / relative)
        parts.append(dsp.resample(dsp.to_mono(data), rate, SR))
    return dsp.normalise_level(np.concatenate(parts).astype(np.float32), SR, -26)[0]


def corrupt(x: np.ndarray, kind: str) -> tuple[np.ndarray, np.ndarray | None]:
    rng = np.random.default_rng(len(x))
    degraded, mask = x.copy(), None
    if "noise" in kind:
        noise = rng.standard_normal(len(x)).astype(np.float32)
        degraded = degraded + noise * np.sqrt(np.sum(x**2) / np.sum(noise**2) / 10 ** (5 / 10))
    if "gaps" in kind:
        mask = np.zeros(len(x), dtype=bool)
        for start in rng.integers(0, len(x) - 3200, size=max(1, len(x) // SR)):
            mask[start : start + int(rng.integers(160, 3200))] = True
        degraded[mask] = 0
    return (degraded / max(1.0, float(np.max(np.abs(degraded))))).astype(np.float32), mask


def score(case: str, realmini: Path | None) -> dict[str, float]:
    _, speech, kind = next(c for c in CASES if c[0] == case)
    x = load_speech(speech, realmini)
    degraded, mask = corrupt(x, kind)
    row = metrics.evaluate(x, degraded, SR, PARAMS, EVERY_METRIC, mask, None, case, metrics.NonIntrusive(1))
    return {m: row[m] for m in EVERY_METRIC}


@pytest.fixture(scope="module")
def speech_root() -> Path | None:
    root = Path(__file__).resolve().parents[2] / "shared" / "data" / "realmini"
    return root if (root / "manifest.csv").is_file() else None


PIN_TOLERANCE = 1e-12
NETWORK_PIN_TOLERANCE = 1e-6  # float32 ONNX models: their kernels differ per CPU
NETWORK_METRICS = set(metrics.NON_INTRUSIVE)


def agrees(now: float, pinned: float, tolerance: float = PIN_TOLERANCE) -> bool:
    if math.isnan(pinned):
        return math.isnan(now)
    return math.isclose(now, pinned, rel_tol=tolerance, abs_tol=tolerance)


def tolerance_of(metric: str) -> float:
    return NETWORK_PIN_TOLERANCE if metric in NETWORK_METRICS else PIN_TOLERANCE


def off_pin(case: str, scores: dict[str, float]) -> dict[str, tuple[float, float]]:
    """(now, pinned) of every score that does not agree with its pin."""
    pinned = PINNED[case]
    return {m: (scores[m], pinned[m]) for m in scores if not agrees(scores[m], pinned[m], tolerance_of(m))}


@pytest.mark.parametrize("case", [c[0] for c in CASES])
def test_every_score_is_the_pinned_value(case, speech_root):
    scores = score(case, speech_root)
    assert set(scores) == set(PINNED[case])
    differing = off_pin(case, scores)
    assert not differing, f"{case}: (now, pinned) {differing}"


def test_the_pin_tolerance_still_sees_a_change_in_the_tenth_digit():
    pinned = PINNED["lj_noise"]["estoi"]
    assert agrees(pinned * (1 + 1e-15), pinned)
    assert not agrees(pinned * (1 + 1e-10), pinned)
    assert not agrees(math.nan, pinned) and not agrees(pinned, math.nan)
    ovrl = PINNED["lj_noise"]["dnsmos_ovrl"]
    assert agrees(ovrl * (1 + 1e-7), ovrl, tolerance_of("dnsmos_ovrl"))
    assert not agrees(ovrl * (1 + 1e-5), ovrl, tolerance_of("dnsmos_ovrl"))
    assert tolerance_of("pesq") == PIN_TOLERANCE


@pytest.mark.parametrize("case", ["lj_noise", "synthetic_noise"])
def test_stoi_and_estoi_are_pystoi_to_the_last_bit_on_this_machine(case, speech_root):
    from pystoi import stoi as pystoi_stoi

    _, speech, kind = next(c for c in CASES if c[0] == case)
    x = load_speech(speech, speech_root)
    degraded, _ = corrupt(x, kind)
    plain, extended = metrics.stoi_scores(x, degraded, SR)
    assert plain == pystoi_stoi(x, degraded, SR, extended=False)
    np.random.seed(0)  # pystoi draws ESTOI's epsilon noise from the global generator
    assert extended == pystoi_stoi(x, degraded, SR, extended=True)


def numpy_optional_simd() -> list[str]:
    """The SIMD extensions beyond NumPy's baseline that it found on this CPU and may
    pick routines for."""
    from numpy._core import _multiarray_umath as umath

    return [name for name in umath.__cpu_dispatch__ if umath.__cpu_features__.get(name)]


def test_the_scores_do_not_depend_on_the_simd_routines_numpy_picks(speech_root):
    # Switching the extensions off emulates an older CPU on this one; it moved the LSD
    # when it was computed in float32 (by 1e-9 here, 2e-7 between two CI hosts).
    optional = numpy_optional_simd()
    if not optional:
        pytest.skip("NumPy found no SIMD extension beyond its baseline to switch off")
    cases = [c[0] for c in CASES if speech_root is not None or c[1] == "synthetic"]
    scored = subprocess.run(
        [sys.executable, __file__, "--json", *cases],
        env={**os.environ, "NPY_DISABLE_CPU_FEATURES": " ".join(optional)},
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert scored.returncode == 0, scored.stderr[-3000:]
    result = json.loads(scored.stdout)
    assert result.pop("simd") == []  # NumPy ignores a name it does not know
    for case, scores in result.items():
        differing = off_pin(case, scores)
        assert not differing, f"{case} without {optional}: (now, pinned) {differing}"


if __name__ == "__main__":
    root = Path(__file__).resolve().parents[2] / "shared" / "data" / "realmini"
    if sys.argv[1:2] == ["--json"]:
        print(json.dumps({case: score(case, root) for case in sys.argv[2:]} | {"simd": numpy_optional_simd()}))
    else:
        for case, _, _ in CASES:
            print(f"    {case!r}: {{")
            for metric, value in score(case, root).items():
                print(f"        {metric!r}: {value!r},")
            print("    },")
