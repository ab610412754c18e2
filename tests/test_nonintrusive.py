"""PLCMOS and DNSMOS as specrestore scores them (each network run in parts, the work
shared between windows and rounds) against speechmos's own procedures, value for value."""

import numpy as np
import pytest
from speechmos import dnsmos, plcmos

from specrestore import nonintrusive
from specrestore.seeding import stable_hash

SR = 16000


def _session(path):
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads, options.inter_op_num_threads = 1, 1
    return onnxruntime.InferenceSession(path, sess_options=options, providers=["CPUExecutionProvider"])


@pytest.fixture(scope="module")
def reference_dnsmos():
    model = dnsmos.DNSMOS.__new__(dnsmos.DNSMOS)
    model.onnx_sess = _session(nonintrusive.model_file(dnsmos, "dnsmos_models", "sig_bak_ovr.onnx"))
    model.p808_onnx_sess = _session(nonintrusive.model_file(dnsmos, "dnsmos_models", "model_v8.onnx"))
    return model


@pytest.fixture(scope="module")
def reference_plcmos():
    model = plcmos.PLCMOS.__new__(plcmos.PLCMOS)
    model.model_name, model.max_lens, model.embed_rounds = "plcmos_v2", 999999999999, 15
    model.session = _session(nonintrusive.model_file(plcmos, "plcmos_models", "plcmos_v2.onnx"))
    return model


@pytest.fixture(scope="module")
def scorer(tmp_path_factory):
    """Reads the networks' parts from files, as the pipeline's scoring jobs do."""
    folder = tmp_path_factory.mktemp("networks")
    nonintrusive.write_network_parts(str(folder))
    return nonintrusive.NonIntrusive(threads=1, network_parts=str(folder))


def _signal(seconds: float, seed: int) -> np.ndarray:
    """Tones, their harmonics and noise that come and go: every window scores differently."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    tone = sum(np.sin(2 * np.pi * f * t + rng.uniform(0, 6)) for f in rng.uniform(100, 3000, 6))
    bursts = np.repeat(rng.uniform(0, 1, int(seconds * 4) + 1), SR // 4)[: len(t)]
    x = 0.05 * tone / 6 + 0.05 * bursts * rng.standard_normal(len(t))
    return x.astype(np.float32)


def test_windows_are_speechmos_windows_with_its_skipped_ones():
    for seconds in (9.01, 9.5, 12.0, 16.99, 17.0, 24.3, 40.0, 130.0):
        n = int(seconds * SR)
        expected = []
        for idx in range(int(np.floor(n / SR) - 9.01) + 1):  # speechmos.dnsmos.DNSMOS.__call__
            start, end = int(idx * SR), int((idx + 9.01) * SR)
            if len(np.zeros(n)[start:end]) == int(9.01 * SR):
                expected.append((start, end))
        assert nonintrusive.window_bounds(n) == expected
    # Windows 7 to 23 end one sample short in speechmos's arithmetic and are skipped.
    starts = [start // SR for start, _ in nonintrusive.window_bounds(30 * SR)]
    assert starts == [0, 1, 2, 3, 4, 5, 6]


@pytest.mark.parametrize("seconds", [1.3, 4.6, 9.01, 14.2, 24.3])
def test_dnsmos_is_speechmos_to_the_last_bit(seconds, scorer, reference_dnsmos):
    x = _signal(seconds, seed=int(seconds * 10))
    expected = reference_dnsmos(x, SR, False)
    got = scorer.dnsmos(x, SR)
    assert got == {
        "dnsmos_sig": expected["sig_mos"],
        "dnsmos_bak": expected["bak_mos"],
        "dnsmos_ovrl": expected["ovrl_mos"],
    }


@pytest.mark.parametrize("seconds", [0.7, 3.2, 12.5])
def test_plcmos_is_speechmos_to_the_last_bit(seconds, scorer, reference_plcmos):
    x = _signal(seconds, seed=7)
    np.random.seed(stable_hash("plcmos", "utt") % 2**32)
    expected = reference_plcmos.get_mos(x, SR)
    assert scorer.plcmos(x, SR, "utt") == expected
    assert scorer.plcmos(x, SR, "other") != expected  # the rater embeddings follow the utterance


def test_front_maps_do_not_grow_with_the_clip(scorer):
    front, _ = scorer._dnsmos_parts()
    frames = np.zeros((12_000, nonintrusive.DNSMOS_FRAME), dtype=np.float32)
    maps = nonintrusive._FrontMaps(front, frames)
    held = []
    for second in range(0, 110, 10):
        maps.window(second)
        held.append(maps.maps.shape[1])
    limit = nonintrusive.DNSMOS_FRAMES_PER_WINDOW + nonintrusive.DNSMOS_CHUNK_FRAMES
    assert max(held) <= limit and len(maps.excerpts) <= nonintrusive.DNSMOS_EXCERPTS_KEPT + 2


def test_network_parts_from_files_score_as_parts_cut_in_memory(scorer, tmp_path):
    x = _signal(5.3, seed=3)
    in_memory = nonintrusive.NonIntrusive(threads=1)
    assert in_memory.dnsmos(x, SR) == scorer.dnsmos(x, SR)
    assert in_memory.plcmos(x, SR, "utt") == scorer.plcmos(x, SR, "utt")
    nonintrusive.write_network_parts(str(tmp_path))
    (tmp_path / "dnsmos_back.onnx").unlink()
    with pytest.raises(FileNotFoundError, match=r"dnsmos_back\.onnx: missing"):
        nonintrusive.NonIntrusive(network_parts=str(tmp_path)).dnsmos(x, SR)
    with pytest.raises(ValueError, match="no network part 'dnsmos'"):
        nonintrusive.network_part("dnsmos")


def test_unscorable_audio_is_reported(scorer):
    with pytest.raises(nonintrusive.Missing, match="empty"):
        scorer.dnsmos(np.zeros(0, dtype=np.float32), SR)
    with pytest.raises(nonintrusive.Missing, match="beyond full scale"):
        scorer.plcmos(np.full(SR, 1.5, dtype=np.float32), SR, "loud")


def test_a_longer_window_hop_keeps_every_nth_reference_window():
    n = 40 * SR
    reference = nonintrusive.window_bounds(n)
    assert nonintrusive.window_bounds(n, 3) == [b for b in reference if (b[0] // SR) % 3 == 0]
    assert nonintrusive.window_bounds(int(11.4 * SR), 9) == [(0, int(9.01 * SR))]
    for hop in (0, 10, 1.5):
        with pytest.raises(ValueError, match="DNSMOS window hop"):
            nonintrusive.NonIntrusive(dnsmos_window_hop_s=hop)


@pytest.mark.parametrize("hop_s, seconds", [(3, 13.5), (9, 40.0)])
def test_dnsmos_with_a_window_hop_is_the_mean_of_those_reference_windows(hop_s, seconds, reference_dnsmos):
    x = _signal(seconds, seed=5)
    hop = nonintrusive.NonIntrusive(threads=1, dnsmos_window_hop_s=hop_s)
    got = hop.dnsmos(x, SR)
    # Each kept window scored by speechmos on its own (a 9.01 s clip is one window);
    # at a 9 s hop the windows share no frames and are run one by one.
    windows = [reference_dnsmos(x[a:b], SR, False) for a, b in nonintrusive.window_bounds(len(x), hop_s)]
    assert len(windows) == 2
    for ours, theirs in (("dnsmos_sig", "sig_mos"), ("dnsmos_bak", "bak_mos"), ("dnsmos_ovrl", "ovrl_mos")):
        assert got[ours] == pytest.approx(np.mean([w[theirs] for w in windows]), rel=1e-12)
    assert got != nonintrusive.NonIntrusive(threads=1).dnsmos(x, SR)
