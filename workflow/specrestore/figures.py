"""Figures. The example grid follows seed 3's comparison: one row per test utterance,
columns Target | Corrupted | each system, log-magnitude spectrograms on one colour
scale, time in seconds and frequency in kHz."""

from __future__ import annotations

import textwrap

import numpy as np

from . import dsp

DYNAMIC_RANGE_DB = 80.0


def _spectrogram_db(x: np.ndarray, params: dsp.StftParams) -> np.ndarray:
    return 20 * np.log10(np.abs(dsp.stft(x, params)) + 1e-9)


def example_grid(
    examples: list[dict[str, np.ndarray]],
    columns: list[tuple[str, str]],
    sample_rate: int,
    params: dsp.StftParams,
    title: str,
    path: str,
) -> None:
    """``examples``: one dict per utterance mapping a column key to its waveform;
    ``columns``: (key, heading) pairs in display order, the target first."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n_rows, n_cols = len(examples), len(columns)
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(2.6 * n_cols + 0.8, 2.3 * n_rows + 0.8), squeeze=False)
    # One colour scale for the whole figure, set by the loudest target bin.
    vmax = max(float(_spectrogram_db(example[columns[0][0]], params).max()) for example in examples)
    vmin = vmax - DYNAMIC_RANGE_DB
    image = None
    for row, example in enumerate(examples):
        for col, (key, heading) in enumerate(columns):
            ax = axes[row, col]
            signal = example[key]
            spec = _spectrogram_db(signal, params)
            extent = (0, len(signal) / sample_rate, 0, sample_rate / 2000)
            image = ax.imshow(spec, origin="lower", aspect="auto", extent=extent, vmin=vmin, vmax=vmax, cmap="magma")
            if row == 0:
                ax.set_title(textwrap.fill(heading, 26), fontsize=9)
            if col == 0:
                ax.set_ylabel(f"{example['id']}\nfrequency (kHz)", fontsize=8)
            else:
                ax.set_yticklabels([])
            if row == n_rows - 1:
                ax.set_xlabel("time (s)", fontsize=8)
            ax.tick_params(labelsize=7)
    fig.suptitle(title, fontsize=11)
    fig.tight_layout(rect=(0, 0, 0.93, 0.95))
    colorbar_axis = fig.add_axes((0.94, 0.15, 0.012, 0.7))
    fig.colorbar(image, cax=colorbar_axis).set_label("magnitude (dB)", fontsize=8)
    fig.savefig(path, dpi=110)
    plt.close(fig)
