"""Figures and report pages, from hand-made tables."""

import matplotlib.image
import numpy as np
import pandas as pd
import pytest

from specrestore import difficulty as D
from specrestore import figures, report


def _not_blank(path, width, height):
    image = matplotlib.image.imread(path)
    assert image.shape[:2] == (height, width)
    assert image[..., :3].std() > 0.05


def _scores(values: dict[str, float]) -> pd.DataFrame:
    rows = []
    for utt, value in values.items():
        rows.append({"id": utt, "system": "corrupted", "pesq": 4.0 - value / 10, "region_snr": 0.0})
        rows.append({"id": utt, "system": "lpc", "pesq": 4.2 - value / 20, "region_snr": 3.0})
    return pd.DataFrame(rows)


def test_dropout_difficulty_is_the_mean_dropout_length():
    regions = pd.DataFrame(
        {"id": ["a", "a", "b"], "kind": ["gap", "gap", "packetloss"], "start_s": [0.1, 0.5, 0.2],
         "end_s": [0.12, 0.56, 0.26], "f_lo_hz": 0.0, "f_hi_hz": 8000.0}
    )  # fmt: skip
    values = D.utterance_difficulty(pd.DataFrame({"id": ["a", "b"]}), regions, D.difficulty_of(["gap"]))
    assert values.to_dict() == pytest.approx({"a": 40.0, "b": 60.0})
    assert D.difficulty_of(["noise", "gap"]).column == "snr_db"  # noise decides where it is present


def test_binned_quality_follows_the_difficulty():
    rng = np.random.default_rng(0)
    values = pd.Series({f"u{i}": float(v) for i, v in enumerate(rng.uniform(10, 200, 60))})
    table = D.binned_quality(_scores(values.to_dict()), values, "pesq", ["corrupted", "lpc"])
    corrupted = table[table.system == "corrupted"]
    assert len(corrupted) == 5 and corrupted["n"].sum() == 60
    assert corrupted["mean"].is_monotonic_decreasing and corrupted["difficulty"].is_monotonic_increasing
    assert ((corrupted["low"] <= corrupted["mean"]) & (corrupted["mean"] <= corrupted["high"])).all()
    levels = pd.Series({f"u{i}": [0.0, 5.0, 10.0][i % 3] for i in range(30)})
    by_level = D.binned_quality(_scores(levels.to_dict()), levels, "pesq", ["lpc"])
    assert list(by_level["difficulty"]) == [0.0, 5.0, 10.0] and list(by_level["n"]) == [10, 10, 10]


def test_figures_are_png_of_the_expected_size(tmp_path):
    history = pd.DataFrame({"epoch": range(6), "loss": np.linspace(1, 0.3, 6), "val_loss": np.linspace(1.1, 0.5, 6)})
    figures.training_curves(history, "unet", "gap", tmp_path / "unet.png")
    _not_blank(tmp_path / "unet.png", int(4.2 * 110), int(3.4 * 110))
    gan = history.assign(g_adversarial=0.7, g_l1=np.linspace(0.5, 0.1, 6), d_loss=1.4)
    gan = gan.assign(**{f"val_{c}": gan[c] * 1.1 for c in ("g_adversarial", "g_l1", "d_loss")})
    figures.training_curves(gan, "pix2pix", "gap", tmp_path / "pix2pix.png")
    _not_blank(tmp_path / "pix2pix.png", int(4 * 4.2 * 110), int(3.4 * 110))

    values = pd.Series({f"u{i}": float(i) for i in range(20)})
    scores = _scores(values.to_dict())
    curves = {
        h: D.binned_quality(scores, values, m, ["corrupted", "lpc"])
        for h, m in (("PESQ", "pesq"), ("SNR", "region_snr"))
    }
    labels = {"corrupted": "corrupted input", "lpc": "LPC extrapolation"}
    figures.quality_vs_difficulty(curves, labels, "mean gap length (ms)", "Task gap", tmp_path / "difficulty.png")
    _not_blank(tmp_path / "difficulty.png", int((5.0 * 2 + 3.6) * 110), int(3.8 * 110))


def test_table_page_keeps_every_cell():
    markdown = (
        "# Task gap\n\nSome `note` and **bold**.\n\n"
        "| system | PESQ ↑ |\n|---|---|\n| corrupted input | 2.26 ± 0.24 |\n| LPC <x> | 2.78 |\n"
    )
    page = report.markdown_to_html(markdown, "Task gap")
    assert "<th>PESQ ↑</th>" in page and "<td>2.26 ± 0.24</td>" in page and "LPC &lt;x&gt;" in page
    assert "<code>note</code>" in page and "<b>bold</b>" in page and page.count("<tr>") == 3


def test_config_digest_changes_with_any_setting():
    config = {"seed": 1, "tasks": [{"name": "gap", "gap": {"length_ms": [20, 100]}}]}
    same = {"tasks": [{"gap": {"length_ms": [20, 100]}, "name": "gap"}], "seed": 1}
    changed = {"seed": 1, "tasks": [{"name": "gap", "gap": {"length_ms": [20, 101]}}]}
    assert report.config_digest(config) == report.config_digest(same) != report.config_digest(changed)
