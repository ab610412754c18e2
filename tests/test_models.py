import json

import keras
import numpy as np
import pytest

from specrestore import dsp, models
from specrestore.datasets import Pair, PatchDataset, from_network_units, prepare, to_network_units
from specrestore.inference import TrainedModel, patch_window, predict_overlapped, restore_with_model
from specrestore.normalization import fit_normalization
from specrestore.restoration import Utterance


def _batch(n_freq=64, frames=16, batch=4, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((batch, n_freq, frames, 1)).astype("float32")
    missing = np.zeros_like(x)
    missing[:, :, 6:9] = 1
    y = x.copy()
    y[missing > 0] = rng.standard_normal(int(missing.sum())).astype("float32") * 0.1 + 1.0
    return x, missing, y


def test_cnn8_takes_seed0s_full_spectrogram():
    model = models.build_cnn8(1025, None, with_mask=False, keep_known=False)
    assert model.input_shape == (None, 1025, None, 1) and model.output_shape == (None, 1025, None, 1)
    conv_blocks = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D)]
    assert (
        len(conv_blocks) == 8 and sum(isinstance(layer, keras.layers.BatchNormalization) for layer in model.layers) == 8
    )
    assert model.predict(np.zeros((1, 1025, 489, 1), "float32"), verbose=0).shape == (1, 1025, 489, 1)


def test_unet_takes_seed1s_128_bins_and_odd_bin_counts():
    seed1 = models.build_unet(128, 128, with_mask=False, keep_known=False, depth=4, output_activation="tanh")
    assert seed1.output_shape == (None, 128, 128, 1)
    odd = models.build_unet(257, 32, with_mask=True, depth=3)
    assert [tuple(i.shape) for i in odd.inputs] == [(None, 257, 32, 1)] * 2 and odd.output_shape == (None, 257, 32, 1)
    with pytest.raises(ValueError, match="multiple of 8"):
        models.build_unet(257, 30, depth=3)


def test_patchgan_scores_patches():
    discriminator = models.build_patchgan(257, 32, with_mask=True, filters=8)
    assert discriminator.output_shape == (None, 33, 4, 1)


@pytest.mark.parametrize("name", ["cnn8", "unet"])
def test_a_few_steps_lower_the_loss(name):
    keras.utils.set_random_seed(1)
    x, missing, y = _batch()
    model = models.build_cnn8(64, None, filters=8) if name == "cnn8" else models.build_unet(64, 16, depth=2, filters=8)
    model.compile(keras.optimizers.Adam(3e-3), loss="mae")
    before = model.evaluate((x, missing), y, verbose=0)
    model.fit((x, missing), y, epochs=30, batch_size=4, verbose=0)
    assert model.evaluate((x, missing), y, verbose=0) < 0.7 * before


def test_pix2pix_trains_with_both_losses_logged():
    keras.utils.set_random_seed(2)
    x, missing, y = _batch()
    model = models.build_pix2pix(64, 16, depth=2, filters=8, discriminator_filters=8)
    model((x[:1], missing[:1]))
    model.compile(2e-4, 0.5)
    assert model.optimizer.beta_1 == 0.5 and float(model.optimizer.learning_rate) == pytest.approx(2e-4)
    history = model.fit((x, missing), y, epochs=25, batch_size=4, verbose=0).history
    assert {"loss", "g_adversarial", "g_l1", "d_loss"} <= set(history)
    assert history["g_l1"][-1] < 0.7 * history["g_l1"][0]


def test_save_and_load_give_identical_predictions(tmp_path):
    x, missing, _ = _batch()
    for model in (
        models.build_unet(64, 16, depth=2, filters=4),
        models.build_cnn8(64, None, filters=4),
        models.build_mfccnet(8, 16, 32),
    ):
        inputs = (
            (x, missing) if len(model.inputs) == 2 and model.name != "mfccnet" else (x[:, :8, 0, 0], x[:, :16, 1, 0])
        )
        path = tmp_path / f"{model.name}.keras"
        model.save(path)
        again = keras.saving.load_model(path)
        assert np.array_equal(model.predict(inputs, verbose=0), again.predict(inputs, verbose=0)), model.name


def test_known_bins_come_out_bit_exact():
    x, missing, _ = _batch(seed=3)
    model = models.build_unet(64, 16, depth=2, filters=4)
    output = model.predict((x, missing), verbose=0)
    known = missing == 0
    assert np.array_equal(output[known], x[known])
    assert not np.array_equal(output[~known], x[~known])


def test_overlap_add_has_no_seams():
    """A 'model' that adds a different constant to every patch: naive tiling would jump
    by the difference at every patch border; the overlap-add moves smoothly."""
    assert np.allclose(patch_window(32)[:16] + patch_window(32)[16:], 1)
    rng = np.random.default_rng(0)
    offsets = iter(rng.uniform(-1, 1, 1000))

    def per_patch_offset(inputs):
        return np.stack([patch + next(offsets) for patch in inputs[0]])

    x = np.zeros((10, 300), np.float32)
    out = predict_overlapped(per_patch_offset, x, None, 32, batch_size=3)
    assert out.shape == x.shape
    steps = np.abs(np.diff(out, axis=1))
    assert steps.max() < 2 * np.pi / 32 * 1.01  # at most the steepest slope of the sin² cross-fade
    identity = predict_overlapped(lambda inputs: inputs[0], rng.standard_normal((10, 77)).astype(np.float32), None, 32)
    assert identity.shape == (10, 77)


def test_network_units_round_trip():
    rng = np.random.default_rng(4)
    clean = np.abs(rng.standard_normal((33, 40))).astype(np.float32) + 1e-3
    noisy = clean + np.abs(rng.standard_normal((33, 40))).astype(np.float32)
    for kind in ("logmag_standard", "global_scale"):
        normalization = fit_normalization(kind, [clean, noisy])
        for target in ("clean", "residual", "mask"):
            arrays = to_network_units(Pair("u", noisy, clean, None), normalization, target)
            back = from_network_units(arrays.y.astype(np.float32), noisy, normalization, target)
            assert np.allclose(back, clean, rtol=0.02, atol=1e-3), (kind, target)


def test_patches_focus_on_the_gaps_and_are_reproducible():
    rng = np.random.default_rng(5)
    pairs = []
    for index in range(3):
        mag = np.abs(rng.standard_normal((17, 200))).astype(np.float32)
        missing = np.zeros_like(mag, dtype=bool)
        missing[:, 100:104] = True
        pairs.append(Pair(f"u{index}", np.where(missing, 0, mag), mag, missing))
    arrays, _ = prepare(pairs, "logmag_standard", "clean")
    dataset = PatchDataset(arrays, 32, 64, 2, seed=9, with_mask=True)
    (x, missing), y = dataset[0]
    assert x.shape == missing.shape == y.shape == (64, 17, 32, 1)
    assert (missing.reshape(64, -1).max(axis=1) > 0).mean() > 0.6
    (again, _), _ = dataset[0]
    assert np.array_equal(x, again)


def test_restoration_keeps_the_length(tmp_path, speech_16k):
    params = dsp.StftParams(128, 32)
    x = speech_16k[0]
    mask = np.zeros(len(x), dtype=bool)
    mask[4000:4800] = True
    spec = np.abs(dsp.stft(x, params))
    normalization = fit_normalization("logmag_standard", [spec])
    normalization.save(tmp_path / "normalization.json")
    model = models.build_unet(params.n_freq, 16, depth=2, filters=4)
    model.save(tmp_path / "best.keras")
    setup = {"model": "unet", "target": "clean", "patch_frames": 16, "with_mask": True, "keep_known": True}
    (tmp_path / "setup.json").write_text(json.dumps(setup))
    trained = TrainedModel.load(tmp_path)
    utterance = Utterance("u", np.where(mask, 0, x).astype(np.float32), mask, None, x)
    for mode in ("corrupted", "reconstruct", "oracle"):
        restored = restore_with_model(trained, mode, utterance, 16000, params, iterations=4)
        assert len(restored) == len(x)
        assert restored[~mask].tobytes() == utterance.corrupted[~mask].tobytes()
