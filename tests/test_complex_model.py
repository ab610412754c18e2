"""The complex U-Net (cunet): shapes, its waveform loss, training, saving, restoration
that keeps what the corruption left, and its training data."""

import json

import keras
import numpy as np
import pandas as pd
import pytest
import scipy.fft
import scipy.signal

from specrestore import baselines, dsp, models, peers, phase
from specrestore.corruption import NoiseBank, Task
from specrestore.datasets import (
    CleanUtterance,
    ComplexPatchDataset,
    FreshComplexDataset,
    FreshCorruption,
    WaveformItem,
    compress_spectrum,
    decompress_spectrum,
    first_fill,
)
from specrestore.inference import TrainedModel, predict_overlapped, restore_with_model
from specrestore.restoration import Utterance
from specrestore.training import complex_first_fill, complex_kind

SR = 16000
STFT = dsp.StftParams(512, 128)
LPC = {"method": "lpc", "order": 32, "context_ms": 50.0}


def voiced(seconds: float, seed: int) -> np.ndarray:
    """Harmonics of a gliding pitch under a syllable envelope, a little noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    f0 = rng.uniform(100, 220) * (1 + 0.1 * np.sin(2 * np.pi * 0.7 * t))
    phase = 2 * np.pi * np.cumsum(f0) / SR
    x = sum(np.sin(k * phase) / k for k in range(1, 12)) * (0.6 + 0.4 * np.sin(2 * np.pi * 4 * t))
    return (0.05 * x + 0.002 * rng.standard_normal(len(t))).astype(np.float32)


def gap_task() -> Task:
    return Task.from_config("gap", {"gap": {"per_second": 1.0, "length_ms": [20, 60]}})


@pytest.mark.parametrize(
    "n_freq, frames, depth", [(257, 32, 3), (1025, 16, 3), (128, 128, 4)], ids=["default", "seed0", "seed1"]
)
def test_shapes_for_the_default_and_seed_stft_sizes(n_freq, frames, depth):
    model = models.build_complex_unet(n_freq, frames, with_mask=True, denoise=False, depth=depth, filters=4)
    assert [tuple(i.shape) for i in model.inputs] == [(None, n_freq, frames, 2), (None, n_freq, frames, 1)]
    assert model.output_shape == (None, n_freq, frames, 2)
    denoiser = models.build_complex_unet(n_freq, frames, with_mask=False, denoise=True, depth=depth, filters=4)
    assert len(denoiser.inputs) == 1 and denoiser.output_shape == (None, n_freq, frames, 2)
    with pytest.raises(ValueError, match="multiple of"):
        models.build_complex_unet(n_freq, frames + 2, depth=depth)
    mixing = models.build_complex_unet(n_freq, frames, depth=depth, filters=4, frequency_transforms=True)
    assert mixing.output_shape == (None, n_freq, frames, 2)


def test_frequency_transforms_reach_across_the_whole_band():
    """A bin at the top of the spectrum changes the fill at the bottom only through the
    map across frequency: the convolutions of a depth-2 U-Net see about 20 bins."""
    x, missing, _ = _fixed_batch()
    x, missing = x[:1], missing[:1]
    missing[...] = 0
    missing[0, :40] = 1  # a hole at the bottom
    moved = x.copy()
    moved[0, -20:] *= 3  # a change at the top
    for mixing in (False, True):
        keras.utils.set_random_seed(5)
        model = models.build_complex_unet(STFT.n_freq, 16, depth=2, filters=4, frequency_transforms=mixing)
        head = model.get_layer("correction")
        head.set_weights([np.full_like(w, 0.1) for w in head.get_weights()])
        change = model.predict((moved, missing), verbose=0) - model.predict((x, missing), verbose=0)
        assert np.any(change[0, :40] != 0) == mixing


def test_compression_round_trips_and_keeps_the_phase():
    spec = dsp.stft(voiced(0.5, 1), STFT)
    compressed = compress_spectrum(spec, 0.3)
    assert compressed.shape == (*spec.shape, 2)
    assert np.allclose(np.hypot(compressed[..., 0], compressed[..., 1]), np.abs(spec) ** 0.3, rtol=1e-4)
    assert np.allclose(decompress_spectrum(compressed, 0.3), spec, rtol=1e-4, atol=1e-6)
    assert np.array_equal(compress_spectrum(np.zeros((3, 2), np.complex64), 0.3), np.zeros((3, 2, 2)))


def test_the_loss_sees_the_patch_waveform():
    """The loss's inverse FFT and overlap-add, in keras.ops, are the numpy ones."""
    spec = dsp.stft(voiced(0.5, 2), STFT)[:, 5:37]
    loss = models.ComplexRestorationLoss(STFT.n_fft, STFT.hop)
    waveform = keras.ops.convert_to_numpy(loss.waveform(compress_spectrum(spec, 0.3)[None]))[0]
    frames = scipy.fft.irfft(spec.T, n=STFT.n_fft, axis=-1) * scipy.signal.get_window("hann", STFT.n_fft)
    expected = np.zeros(31 * STFT.hop + STFT.n_fft)
    for t, frame in enumerate(frames):
        expected[t * STFT.hop : t * STFT.hop + STFT.n_fft] += frame
    assert np.allclose(waveform, expected, atol=1e-5 * np.abs(expected).max())
    # A waveform-only loss tells a shifted phase from the right one; a magnitude loss does not.
    rotated = compress_spectrum(spec * np.exp(0.5j), 0.3)[None]
    target = compress_spectrum(spec, 0.3)[None]
    magnitude_only = models.ComplexRestorationLoss(STFT.n_fft, STFT.hop, complex_weight=0, waveform_weight=0)
    waveform_only = models.ComplexRestorationLoss(STFT.n_fft, STFT.hop, complex_weight=0, waveform_weight=1)
    assert float(magnitude_only(target, rotated)) < 1e-6
    assert float(waveform_only(target, rotated)) > 0.3


def test_a_quiet_patch_weighs_by_its_level_in_the_waveform_term():
    """The waveform error is relative to the batch's level: a near-silent patch with the
    same relative error as a loud one adds as little as its samples do."""
    spec = dsp.stft(voiced(0.5, 2), STFT)[:, 5:37]
    target = np.stack([compress_spectrum(level * spec, 0.3) for level in (1, 1e-3)])
    rotated = np.stack([compress_spectrum(level * spec * np.exp(0.5j), 0.3) for level in (1, 1e-3)])
    waveform_only = models.ComplexRestorationLoss(STFT.n_fft, STFT.hop, complex_weight=0, waveform_weight=1)
    per_patch = waveform_only.call(keras.ops.convert_to_tensor(target), keras.ops.convert_to_tensor(rotated))
    loud, quiet = keras.ops.convert_to_numpy(per_patch)
    assert quiet < 0.01 * loud  # each patch by its own level, both would be equal
    assert loud > 0.3


def test_an_overestimate_weight_makes_residual_noise_cost_more():
    """Magnitude left above the clean one (residual noise) costs ``overestimate_weight``
    times as much as the same amount missing; 1 keeps the loss symmetric."""
    target = compress_spectrum(dsp.stft(voiced(0.5, 2), STFT)[:, 5:37], 0.3)[None]
    louder, quieter = 1.2 * target, 0.8 * target
    symmetric = models.ComplexRestorationLoss(STFT.n_fft, STFT.hop, complex_weight=0, waveform_weight=0)
    weighted = models.ComplexRestorationLoss(
        STFT.n_fft, STFT.hop, complex_weight=0, waveform_weight=0, overestimate_weight=3.0
    )
    assert np.isclose(float(symmetric(target, louder)), float(symmetric(target, quieter)), rtol=1e-4)
    assert np.isclose(float(weighted(target, quieter)), float(symmetric(target, quieter)), rtol=1e-6)
    assert np.isclose(float(weighted(target, louder)), 3 * float(weighted(target, quieter)), rtol=1e-4)
    restored = models.ComplexRestorationLoss.from_config(weighted.get_config())
    assert restored.overestimate_weight == 3.0


def _fixed_batch():
    rng = np.random.default_rng(4)
    clean = np.stack([compress_spectrum(dsp.stft(voiced(0.4, s), STFT)[:, :16], 0.3) for s in range(4)])
    missing = np.zeros(clean.shape[:-1] + (1,), np.float32)
    missing[:, :, 6:10] = 1
    corrupted = clean * (1 - missing) + 0.01 * rng.standard_normal(clean.shape).astype(np.float32) * missing
    return corrupted, missing, clean


def test_a_few_steps_on_a_fixed_batch_lower_the_loss():
    keras.utils.set_random_seed(1)
    x, missing, y = _fixed_batch()
    model = models.build_complex_unet(STFT.n_freq, 16, depth=2, filters=8)
    model.compile(keras.optimizers.Adam(3e-3), loss=models.ComplexRestorationLoss(STFT.n_fft, STFT.hop))
    history = model.fit((x, missing), y, epochs=30, batch_size=4, verbose=0).history["loss"]
    assert history[-1] < 0.6 * history[0]


@pytest.mark.parametrize("frequency_transforms", [False, True])
def test_known_bins_pass_through_and_an_untrained_model_is_the_first_fill(frequency_transforms):
    x, missing, _ = _fixed_batch()
    model = models.build_complex_unet(STFT.n_freq, 16, depth=2, filters=4, frequency_transforms=frequency_transforms)
    output = model.predict((x, missing), verbose=0)
    assert np.array_equal(output, x)  # the correction starts at zero
    model.get_layer("correction").set_weights([w + 0.1 for w in model.get_layer("correction").get_weights()])
    output = model.predict((x, missing), verbose=0)
    known = np.broadcast_to(missing == 0, x.shape)
    assert np.array_equal(output[known], x[known]) and not np.array_equal(output[~known], x[~known])


def test_an_untrained_denoiser_passes_the_noisy_input_through():
    x, _, _ = _fixed_batch()
    model = models.build_complex_unet(STFT.n_freq, 16, with_mask=False, denoise=True, depth=2, filters=4)
    assert np.array_equal(model.predict(x, verbose=0), x)  # the mask starts at 1
    head = model.get_layer("mask_change")
    head.set_weights([w - 0.1 for w in head.get_weights()])
    output = model.predict(x, verbose=0)
    magnitude = np.hypot(output[..., 0], output[..., 1])
    assert np.all(magnitude <= np.hypot(x[..., 0], x[..., 1]) + 1e-7) and not np.allclose(output, x)


def test_save_and_load_give_identical_predictions(tmp_path):
    x, missing, y = _fixed_batch()
    for model in (
        models.build_complex_unet(STFT.n_freq, 16, depth=2, filters=4),
        models.build_complex_unet(STFT.n_freq, 16, with_mask=False, denoise=True, depth=2, filters=4, name="d"),
        models.build_complex_unet(STFT.n_freq, 16, depth=2, filters=4, frequency_transforms=True, name="f"),
    ):
        model.compile(keras.optimizers.Adam(1e-3), loss=models.ComplexRestorationLoss(STFT.n_fft, STFT.hop))
        inputs = (x, missing) if len(model.inputs) == 2 else (x,)
        model.fit(inputs, y, epochs=1, verbose=0)
        path = tmp_path / f"{model.name}.keras"
        model.save(path)
        again = keras.saving.load_model(path)
        assert np.array_equal(model.predict(inputs, verbose=0), again.predict(inputs, verbose=0))
        assert again.loss.get_config()["waveform_weight"] == 0.05


def _trained_model_dir(tmp_path, corruptions, with_mask=True, denoise=False):
    keras.utils.set_random_seed(3)
    model = models.build_complex_unet(STFT.n_freq, 32, with_mask, denoise, depth=2, filters=4)
    correction = "correction" if with_mask else "complex_mask"
    kernel, bias = model.get_layer(correction).get_weights()
    model.get_layer(correction).set_weights([kernel + 0.05, bias + 0.5])
    model.save(tmp_path / "best.keras")
    kind = complex_kind(corruptions)
    setup = {"model": "cunet", "patch_frames": 32, "n_freq": STFT.n_freq, **kind, "compress": 0.3,
             "fill": LPC if {"gap", "packetloss"} & set(corruptions) else None}  # fmt: skip
    (tmp_path / "setup.json").write_text(json.dumps(setup))
    return TrainedModel.load(tmp_path)


def test_restoration_keeps_every_known_sample_bit_exact(tmp_path):
    clean = voiced(2.0, 5)
    sample_mask = np.zeros(len(clean), bool)
    sample_mask[8000:8800] = True
    sample_mask[20000:20320] = True
    corrupted = np.where(sample_mask, 0, clean).astype(np.float32)
    trained = _trained_model_dir(tmp_path, ["gap"])
    restored = restore_with_model(trained, None, Utterance("u", corrupted, sample_mask), SR, STFT)
    assert len(restored) == len(clean) and restored.dtype == np.float32
    assert np.array_equal(restored[~sample_mask], corrupted[~sample_mask])
    lpc = first_fill(corrupted, sample_mask, SR, LPC)
    assert not np.array_equal(restored[sample_mask], lpc[sample_mask])  # the network changed the fill
    assert np.all(np.isfinite(restored))


@pytest.fixture
def inverted(monkeypatch) -> list:
    """Every spectrogram given to the inverse STFT, in order, while the test runs."""
    spectra = []
    istft = dsp.istft
    monkeypatch.setattr(dsp, "istft", lambda spec, *args: spectra.append(spec) or istft(spec, *args))
    return spectra


def test_band_hole_restoration_keeps_the_known_bins(tmp_path, inverted):
    clean = voiced(1.5, 6)
    tf_mask = np.zeros((STFT.n_freq, STFT.n_frames(len(clean))), bool)
    tf_mask[60:90] = True
    corrupted = dsp.istft(np.where(tf_mask, 0, dsp.stft(clean, STFT)), STFT, len(clean))
    trained = _trained_model_dir(tmp_path, ["bandhole"])
    inverted.clear()  # the corruption above used the inverse STFT too
    restored = restore_with_model(trained, None, Utterance("u", corrupted, None, tf_mask), SR, STFT, iterations=4)
    assert len(restored) == len(clean) and len(inverted) == 1  # no consistency refinement for band holes
    before = dsp.stft(corrupted, STFT)
    assert np.array_equal(inverted[-1][~tf_mask], before[~tf_mask])  # known bins exactly as they came in
    assert np.abs(inverted[-1][tf_mask]).mean() > 10 * np.abs(before[tf_mask]).mean()  # the hole is filled


def test_consistency_refinement_keeps_the_larger_magnitude_and_known_samples(tmp_path, inverted):
    clean = voiced(2.0, 8)
    sample_mask = np.zeros(len(clean), bool)
    sample_mask[6000:6960] = True
    sample_mask[21000:21480] = True
    corrupted = np.where(sample_mask, 0, clean).astype(np.float32)
    trained = _trained_model_dir(tmp_path, ["gap"])
    utterance = Utterance("u", corrupted, sample_mask)
    plain = restore_with_model(trained, None, utterance, SR, STFT, iterations=0)
    network = inverted[-1]
    refined = restore_with_model(trained, None, utterance, SR, STFT, iterations=16)
    final = inverted[-1]
    assert len(inverted) == 1 + 2 * 16 + 1  # the two gaps' stretches of frames, 16 iterations each
    assert np.array_equal(refined[~sample_mask], corrupted[~sample_mask])
    assert not np.array_equal(refined[sample_mask], plain[sample_mask])
    missing = baselines.missing_bins(network.shape[1], STFT, sample_mask, None)
    assert np.array_equal(final[~missing], network[~missing])  # known bins untouched
    # The magnitude: the network's, or the LPC fill's where that is larger (both happen here).
    fill = np.abs(dsp.stft(first_fill(corrupted, sample_mask, SR, LPC), STFT))[missing]
    assert (fill > np.abs(network[missing])).mean() > 0.02 and (fill < np.abs(network[missing])).mean() > 0.5
    larger = np.maximum(np.abs(network[missing]), fill)
    assert np.allclose(np.abs(final[missing]), larger, rtol=1e-4, atol=1e-7)
    # ... with a phase that brings the spectrogram nearer to the STFT of a signal (this
    # untrained network's magnitudes are far from any: 0.57 to 0.46 here).
    n = len(clean)
    assert phase.inconsistency(final, STFT, n) < 0.9 * phase.inconsistency(network, STFT, n)


def test_training_rows_are_fresh_corruptions_with_the_lpc_fill():
    utterances = [CleanUtterance(f"s{i}", voiced(3.0, 10 + i)) for i in range(4)]
    source = FreshCorruption(utterances, gap_task(), SR, STFT)
    dataset = FreshComplexDataset(source, LPC, 0.3, 32, 4, 3, seed=7, with_mask=True)
    (x, missing), y = dataset[4]
    again = FreshComplexDataset(source, LPC, 0.3, 32, 4, 3, seed=7, with_mask=True)[4]
    assert np.array_equal(x, again[0][0]) and np.array_equal(y, again[1])  # same (seed, epoch, step)
    assert not np.array_equal(x, dataset[5][0][0])
    assert x.shape == y.shape == (4, STFT.n_freq, 32, 2) and missing.shape == (4, STFT.n_freq, 32, 1)
    # Each row's input is the LPC fill of that row's fresh corruption.
    row = dataset.rows(1, 1)[0]
    filled = baselines.lpc_fill(row.corrupted.audio, row.corrupted.sample_mask, SR, 32, 50.0)
    expected = compress_spectrum(dsp.stft_frames(filled, STFT, row.first_frame, 32), 0.3)
    assert np.array_equal(x[0], expected)
    known = np.broadcast_to(missing == 0, x.shape)
    assert np.allclose(x[known], y[known], atol=1e-5)  # outside the holes input and target agree


def test_validation_patches_come_from_the_fixed_corrupted_utterances():
    clean = voiced(2.0, 20)
    mask = np.zeros(len(clean), bool)
    mask[10000:10640] = True
    item = WaveformItem("v", clean, np.where(mask, 0, clean).astype(np.float32), mask, None)
    dataset = ComplexPatchDataset([item], SR, STFT, LPC, 0.3, 32, 8, 1, seed=2, with_mask=True)
    (x, missing), _ = dataset.fixed(2)
    assert x.shape == (16, STFT.n_freq, 32, 2)
    assert missing.any(axis=(1, 2, 3)).mean() >= 0.5  # most patches hold the gap
    assert np.array_equal(dataset.fixed(2)[0][0], x)


def test_patches_without_a_hole_are_not_run_and_change_nothing():
    rng = np.random.default_rng(8)
    x = rng.standard_normal((20, 200, 2)).astype(np.float32)
    missing = np.zeros((20, 200), np.float32)
    missing[:, 90:95] = 1
    calls = []

    def fill_holes(inputs):  # a model that is the identity outside the mask
        calls.append(len(inputs[0]))
        return inputs[0] + inputs[1] * 3.0

    every = predict_overlapped(fill_holes, x, missing, 32)
    run_on_every_patch = sum(calls)
    calls.clear()
    skipping = predict_overlapped(fill_holes, x, missing, 32, identity_outside_mask=True)
    assert sum(calls) == 2 < run_on_every_patch  # the two patches that hold frames 90-94
    assert np.allclose(skipping, every, atol=1e-6)
    assert np.allclose(skipping[:, 90:95], x[:, 90:95] + 3) and np.allclose(skipping[:, :80], x[:, :80])


def test_lpc_fills_only_the_spans_a_patch_needs_exactly_as_the_whole_fill():
    x = voiced(3.0, 30)
    mask = np.zeros(len(x), bool)
    for start in (4000, 9000, 9800, 20000, 40000):
        mask[start : start + 480] = True
    corrupted = np.where(mask, 0, x).astype(np.float32)
    whole = baselines.lpc_fill(corrupted, mask, SR, 32, 50.0)
    part = baselines.lpc_fill(corrupted, mask, SR, 32, 50.0, within=(8500, 12000))
    assert np.array_equal(part[8500:12000], whole[8500:12000])
    assert np.array_equal(part[4000:4480], corrupted[4000:4480])  # a span outside is left as it is
    assert not np.array_equal(whole[4000:4480], corrupted[4000:4480])


def snr_db(reference: np.ndarray, estimate: np.ndarray) -> float:
    return float(10 * np.log10(np.sum(np.abs(reference) ** 2) / np.sum(np.abs(reference - estimate) ** 2)))


def test_the_rnnoise_fill_is_rnnoises_output_warmed_up_before_an_excerpt():
    rng = np.random.default_rng(40)
    clean = voiced(4.0, 40)
    noisy = (clean + 0.01 * rng.standard_normal(len(clean))).astype(np.float32)
    fill = {"method": "rnnoise", "warmup_ms": 500}
    whole = first_fill(noisy, None, SR, fill)
    assert np.array_equal(whole, peers.rnnoise(noisy, SR))
    assert snr_db(clean, whole) > snr_db(clean, noisy) + 1  # it does remove noise
    start, end = 32000, 36000
    warm = first_fill(noisy, None, SR, fill, within=(start, end))
    cold = first_fill(noisy, None, SR, {**fill, "warmup_ms": 0}, within=(start, end))
    # RNNoise's state takes time to settle: started 0.5 s early, the excerpt comes out
    # closer to the whole recording's output (18 dB against 13 here).
    assert snr_db(whole[start:end], warm[start:end]) > snr_db(whole[start:end], cold[start:end]) + 3
    # Only the warm-up, the excerpt and RNNoise's 20 ms of lookahead are run.
    lookahead = SR * 20 // 1000
    assert np.array_equal(warm[: start - 8000], noisy[: start - 8000])
    assert np.array_equal(warm[end + lookahead :], noisy[end + lookahead :])
    assert not np.array_equal(warm[start - 8000 : start], noisy[start - 8000 : start])


def test_the_first_fill_is_lpc_for_dropouts_and_rnnoise_for_noise_only_when_asked():
    assert complex_first_fill({"noise_fill": "rnnoise"}, ["gap"], LPC) == LPC
    assert complex_first_fill({"noise_fill": "rnnoise"}, ["noise"], LPC)["method"] == "rnnoise"
    assert complex_first_fill({"noise_fill": None}, ["noise"], LPC) is None
    assert complex_first_fill({"noise_fill": "rnnoise"}, ["bandhole"], LPC) is None


def test_noise_rows_start_from_rnnoise_on_the_patchs_own_samples():
    utterances = [CleanUtterance(f"s{i}", voiced(3.0, 50 + i)) for i in range(3)]
    rng = np.random.default_rng(5)
    table = pd.DataFrame([{"id": "n0", "kind": "white", "split": "train"}])
    bank = NoiseBank({"n0": (0.05 * rng.standard_normal(3 * SR)).astype(np.float32)}, table)
    task = Task.from_config("noise", {"noise": {"snr_db": [0, 5], "kinds": None}})
    fill = {"method": "rnnoise", "warmup_ms": 500}
    dataset = FreshComplexDataset(FreshCorruption(utterances, task, SR, STFT, bank), fill, 0.3, 32, 2, 2, seed=3,
                                  with_mask=False)  # fmt: skip
    (x,), _ = dataset.make_batch(1, 0)
    for index, row in enumerate(dataset.rows(1, 0)):
        expected = dsp.stft_frames(first_fill(row.corrupted.audio, None, SR, fill), STFT, row.first_frame, 32)
        noisy = dsp.stft_frames(row.corrupted.audio, STFT, row.first_frame, 32)
        # The excerpt's own RNNoise pass, from half a second before the patch: close to
        # RNNoise over the whole excerpt, and nothing like the noisy input.
        got = decompress_spectrum(x[index], 0.3)
        assert snr_db(expected, got) > max(10, snr_db(expected, noisy) + 10)
