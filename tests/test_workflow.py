"""The real workflow, run by snakemake on tiny configs in temporary directories."""

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from conftest import run, run_snakemake, tiny_config, write_bad_input_set
from specrestore import dsp
from specrestore.store import ArrayFile

pytestmark = pytest.mark.slow


def read_archive(path):
    with ArrayFile(path) as archive:
        return {key: archive._npz[key] for key in archive._npz.files}


# Seed 3's sweep on two test utterances with the gap task's U-Net.
SMALL_SWEEP = {"enabled": True, "small": {"gap_ms": [20, 60], "context_ms": [40, 120]}, "max_utterances": 2}


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("demo")
    result = run(workdir, tiny_config(experiments={"gap_context": SMALL_SWEEP}))
    assert result.returncode == 0, result.stderr[-5000:]
    return workdir


def test_manifest_and_splits(demo_run):
    manifest = pd.read_parquet(demo_run / "results/manifest/utterances.parquet")
    assert len(manifest) == 18 and manifest["id"].is_unique
    assert set(manifest["split"]) == {"train", "valid", "test"}
    assert (manifest.groupby("speaker")["split"].nunique() == 1).all()
    assert {"text", "voice", "accent"} <= set(manifest.columns)
    assert (manifest["sample_rate"] == 22050).all()


def test_audio_is_prepared_at_the_target_rate(demo_run):
    utterances = pd.read_parquet(demo_run / "results/audio/utterances.parquet")
    assert len(utterances) == 18
    assert pd.read_csv(demo_run / "results/audio/rejected.csv").empty
    for shard in ("000", "001"):
        table = pd.read_parquet(demo_run / f"results/audio/{shard}.parquet")
        with ArrayFile(demo_run / f"results/audio/{shard}.npz") as audio:
            assert audio.meta["sample_rate"] == 16000
            for row in table.itertuples():
                x = audio.get("audio", row.id)
                assert len(x) == row.n_samples == pytest.approx(row.duration_s * 16000)
                assert dsp.active_level_db(x, 16000) == pytest.approx(-26, abs=0.1)


def test_stft_cache_covers_every_utterance(demo_run):
    for shard in ("000", "001"):
        table = pd.read_parquet(demo_run / f"results/stft/{shard}.parquet")
        with (
            ArrayFile(demo_run / f"results/stft/{shard}.npz") as cache,
            ArrayFile(demo_run / f"results/audio/{shard}.npz") as audio,
        ):
            assert (
                sorted(cache.ids("mag"))
                == sorted(cache.ids("phase"))
                == sorted(table["id"])
                == sorted(audio.ids("audio"))
            )
            assert cache.meta["n_fft"] == 512 and cache.meta["hop"] == 128
            for row in table.itertuples():
                assert cache.get("mag", row.id).shape == (257, 1 + row.n_samples // 128) == (257, row.n_frames)


def test_every_task_is_corrupted_with_its_masks(demo_run):
    for shard in ("000", "001"):
        with ArrayFile(demo_run / f"results/audio/{shard}.npz") as audio:
            clean = {i: audio.get("audio", i) for i in audio.ids("audio")}
        for task in ("gap", "packetloss", "bandhole", "noise"):
            archive = read_archive(demo_run / f"results/corrupt/{task}/{shard}.npz")
            table = pd.read_parquet(demo_run / f"results/corrupt/{task}/{shard}.parquet").set_index("id")
            regions = pd.read_parquet(demo_run / f"results/corrupt/{task}/{shard}.regions.parquet")
            assert sorted(table.index) == sorted(clean)
            for utt, x in clean.items():
                y = archive[f"audio/{utt}"]
                assert y.shape == x.shape and y.dtype == np.float32
                if task in ("gap", "packetloss"):
                    mask = archive[f"mask/{utt}"]
                    assert mask.any() and np.all(y[mask] == 0) and np.array_equal(y[~mask], x[~mask])
                    assert table.loc[utt, "lost_fraction"] == pytest.approx(mask.mean())
                    assert (regions.loc[regions.id == utt, "kind"] == task).all()
                if task == "bandhole":
                    assert archive[f"tfmask/{utt}"].any(axis=1).mean() == pytest.approx(0.3, abs=0.01)
                if task == "noise":
                    assert dsp.snr_db(x, y) == pytest.approx(table.loc[utt, "snr_db"], abs=0.1)
                    assert table.loc[utt, "noise_id"].startswith(table.loc[utt, "split"] + "-")


def test_every_job_logged(demo_run):
    logs = {p.relative_to(demo_run / "results/logs").as_posix() for p in (demo_run / "results/logs").rglob("*.log")}
    assert {
        "synthesize_demo.log",
        "manifest.log",
        "audio_summary.log",
        "noise_bank.log",
        "resample/000.log",
        "stft/001.log",
        "corrupt/noise/001.log",
    } <= logs


def test_every_default_model_is_trained_and_has_its_rows(demo_run):
    config = tiny_config()
    for entry in config["tasks"]:
        table = pd.read_csv(demo_run / f"results/tables/{entry['name']}.csv")
        assert entry["models"]
        for model in entry["models"]:
            folder = demo_run / f"results/models/{entry['name']}/{model}"
            assert (folder / "best.keras").exists() and (folder / "model.keras").exists()
            assert list(pd.read_csv(folder / "history.csv")["epoch"]) == [0]  # KERAS_MAX_EPOCHS=1
            assert any(table["system"].str.startswith(model)), (entry["name"], model)


def test_tables_have_every_row_and_column(demo_run):
    from specrestore.config import task_corruptions, task_models
    from specrestore.corruption import Task
    from specrestore.metrics import metrics_for
    from specrestore.restoration import MODEL_METHODS, parse_system, system_ids
    from specrestore.tables import VERSUS_METRICS

    config = tiny_config()
    summary = (demo_run / "results/tables/summary.md").read_text()
    models = task_models(config)
    for task, spec in task_corruptions(config).items():
        corruptions = Task.from_config(task, spec).corruptions
        systems = system_ids(config["evaluation"]["methods"] + models[task], config["evaluation"]["phase"], corruptions)
        table = pd.read_csv(demo_run / f"results/tables/{task}.csv")
        assert list(table["system"]) == systems and systems[0] == "corrupted"
        for metric in metrics_for(corruptions):
            for row in table.itertuples():
                row = row._asdict()
                if metric == "lsd_seed2" and task in ("gap", "packetloss"):
                    # Zeroed samples can make seed 2's unfloored log infinite: missing, with a reason.
                    assert row[f"{metric}_n"] + row[f"{metric}_missing"] == row["utterances"]
                    continue
                assert np.isfinite(row[f"{metric}_mean"]), (task, row["system"], metric)
                assert row[f"{metric}_n"] + row[f"{metric}_missing"] == row["utterances"] > 0
                if row["system"] != "corrupted" and row["utterances"] > 1:
                    assert np.isfinite(row[f"{metric}_delta"]), (task, row["system"], metric)
        markdown = (demo_run / f"results/tables/{task}.md").read_text()
        latex = (demo_run / f"results/tables/{task}.tex").read_text()
        for label in table["label"]:
            assert label in markdown and label.replace("_", r"\_") in latex
        assert "\\begin{tabular}" in latex and latex.count("\\\\") == len(systems) + 1
        assert task in summary
        figure = demo_run / f"results/figures/{task}/examples.png"
        assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and figure.stat().st_size > 20000
        scores = pd.read_parquet(demo_run / f"results/metrics/{task}.parquet")
        assert set(scores["system"]) == set(systems)
        versus = pd.read_csv(demo_run / f"results/tables/{task}_versus.csv")
        learned = [s for s in systems if parse_system(s)[0] in MODEL_METHODS]
        kinds = 3 if task == "noise" else 2  # the peer denoisers run for noise only
        measures = [m for m in VERSUS_METRICS if m in metrics_for(corruptions)]
        assert len(versus) == len(learned) * kinds * len(measures) > 0
        assert set(versus["system"]) == set(learned) and np.isfinite(versus["change"]).all()
        assert "## Learned models against the strongest other systems" in markdown
        assert f"| {task} | PESQ ↑ | " in summary.split("## Where the learned models stand")[1]


def test_restored_audio_has_the_input_length(demo_run):
    corrupt = pd.read_parquet(demo_run / "results/corrupt/gap/000.parquet").set_index("id")
    for flac in (demo_run / "results/restored/gap/lpc/000").glob("*.flac"):
        data, rate = sf.read(flac)
        assert rate == 16000 and len(data) == corrupt.loc[flac.stem, "n_samples"]
        assert corrupt.loc[flac.stem, "split"] == "test"


def test_a_second_run_has_nothing_to_do(demo_run):
    result = run_snakemake(demo_run, "--dry-run")
    assert result.returncode == 0
    assert "Nothing to be done" in result.stdout + result.stderr


# What says how a run went, not what it computed: logs, timings, TensorBoard event files,
# the report and the experiment the second run leaves out; and columns of paths and seconds.
NOT_COMPARED = ("logs", "benchmarks", "report", "experiments", "tensorboard")
RUN_SPECIFIC_COLUMNS = ["path", "source_path", "seconds"]


def compared_files(root):
    results = root / "results"
    return sorted(
        path.relative_to(results)
        for path in results.rglob("*")
        if path.is_file() and not set(path.relative_to(results).parts) & set(NOT_COMPARED)
        and not path.name.startswith("report")
    )  # fmt: skip


def assert_same_results(first, second):
    """Every result of two runs is the same: arrays and audio byte for byte, tables and
    figures byte for byte, parquet tables value for value (paths and seconds aside),
    models weight for weight (a .keras file also holds the time it was saved)."""
    import zipfile

    files = compared_files(first)
    assert files == compared_files(second)
    kinds = {path.parts[0] for path in files}
    assert {"corrupt", "restored", "metrics", "tables", "figures", "models"} <= kinds
    for relative in files:
        a, b = first / "results" / relative, second / "results" / relative
        if relative.suffix == ".npz":
            one, other = read_archive(a), read_archive(b)
            assert one.keys() == other.keys(), relative
            assert all(one[key].tobytes() == other[key].tobytes() for key in one), relative
        elif relative.suffix == ".parquet":
            one, other = (pd.read_parquet(p).drop(columns=RUN_SPECIFIC_COLUMNS, errors="ignore") for p in (a, b))
            pd.testing.assert_frame_equal(one, other, check_exact=True, obj=str(relative))
        elif relative.suffix == ".keras":
            with zipfile.ZipFile(a) as one, zipfile.ZipFile(b) as other:
                assert one.read("model.weights.h5") == other.read("model.weights.h5"), relative
        else:
            assert a.read_bytes() == b.read_bytes(), relative


def test_a_killed_run_recovers_with_the_readme_command_into_the_same_results(demo_run, tmp_path):
    """The same config run again in another folder, killed with SIGKILL in the middle of
    a training job and recovered with README's command, gives every mask, restored file,
    score, table and figure of the uninterrupted run, the MFCC network's included."""
    import os
    import signal
    import subprocess
    import sys
    import time

    import yaml

    from conftest import REPO

    (tmp_path / "config.yaml").write_text(yaml.safe_dump(tiny_config()))
    command = [sys.executable, "-m", "snakemake", "--snakefile", str(REPO / "Snakefile"), "--directory", str(tmp_path)]
    env = {**os.environ, **{"KERAS_MAX_EPOCHS": "1"}}
    env.pop("PYTHONPATH", None)
    running = subprocess.Popen(
        [*command, "--cores", "2"], env=env, start_new_session=True,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    deadline = time.time() + 1200
    while time.time() < deadline and running.poll() is None:
        if list((tmp_path / "results/models").glob("*/*/setup.json")):  # a training job is under way
            break
        time.sleep(0.2)
    assert running.poll() is None, "the run ended before it could be killed"
    os.killpg(running.pid, signal.SIGKILL)  # snakemake and every job it started
    running.wait()
    again = subprocess.run([*command, "--cores", "2"], env=env, capture_output=True, text=True)
    assert again.returncode != 0 and "LockException" in again.stderr  # what the issue saw

    # README, "Quick start": snakemake --unlock && snakemake --cores 2
    unlocked = subprocess.run([*command, "--unlock"], env=env, capture_output=True, text=True)
    assert unlocked.returncode == 0, unlocked.stderr[-3000:]
    recovered = subprocess.run([*command, "--cores", "2"], env=env, capture_output=True, text=True)
    assert recovered.returncode == 0, recovered.stderr[-5000:]
    assert_same_results(demo_run, tmp_path)


def _folder_corpus(root, speech, with_good=True):
    voice, rate = next(iter(speech.values()))
    expected = write_bad_input_set(root, voice, rate)
    if with_good:
        for index, (utt, (x, rate)) in enumerate(speech.items()):
            for take in range(2):
                path = root / f"good{index}" / f"{utt}_{take}.flac"
                path.parent.mkdir(parents=True, exist_ok=True)
                sf.write(path, np.roll(x, take * 1000), rate)
    return expected


def test_bad_recordings_are_listed_and_the_run_goes_on(tmp_path, speech):
    expected = _folder_corpus(tmp_path / "corpus", speech)
    config = tiny_config(
        corpus="folder", corpora={"folder": {"path": str(tmp_path / "corpus")}}, tasks=[{"name": "gap", "gap": {}}]
    )
    result = run(tmp_path / "run", config)
    assert result.returncode == 0, result.stderr[-5000:]
    rejected = pd.read_csv(tmp_path / "run/results/audio/rejected.csv")
    reasons = {path.split("/")[-1]: reason for path, reason in zip(rejected["path"], rejected["reason"])}
    assert set(reasons) == {name for name, reason in expected.items() if reason}
    for name, reason in reasons.items():
        assert expected[name] in reason
    utterances = pd.read_parquet(tmp_path / "run/results/audio/utterances.parquet")
    sources = {p.split("/")[-1]: row for p, row in zip(utterances["source_path"], utterances.itertuples())}
    assert {"stereo44k.wav", "eightbit.wav"} <= set(sources)
    assert sources["stereo44k.wav"].source_rate == 44100 and sources["stereo44k.wav"].source_channels == 2
    assert len(utterances) == 2 + 2 * len(speech)
    assert (tmp_path / "run/results/corrupt/gap/001.npz").exists()


def test_nothing_usable_stops_the_run_and_says_so(tmp_path, speech):
    _folder_corpus(tmp_path / "corpus", speech, with_good=False)
    for name in ("stereo44k.wav", "eightbit.wav"):
        next((tmp_path / "corpus").rglob(name)).unlink()
    config = tiny_config(corpus="folder", corpora={"folder": {"path": str(tmp_path / "corpus")}})
    result = run(tmp_path / "run", config)
    assert result.returncode != 0
    assert "no usable recordings remain: all 4 were rejected" in result.stderr
    assert not (tmp_path / "run/results/stft").exists()


REPORT_CATEGORIES = ("Tables", "Examples", "Training", "Experiments")


def _png_looks_like_a_figure(path, min_size=(400, 250)):
    import matplotlib.image

    image = matplotlib.image.imread(path)
    assert image.shape[1] >= min_size[0] and image.shape[0] >= min_size[1], (path, image.shape)
    assert image[..., :3].std() > 0.05, f"{path} is blank"


def test_every_figure_is_a_readable_png(demo_run):
    figures = demo_run / "results" / "figures"
    expected = [
        f"{task}/{name}.png"
        for task in ("gap", "packetloss", "bandhole", "noise")
        for name in ("examples", "difficulty")
    ]
    expected += [
        "gap/training_unet.png",
        "gap/training_pix2pix.png",
        "gap/training_cnn8.png",
        "bandhole/training_mfccnet.png",
    ]
    for name in expected:
        _png_looks_like_a_figure(figures / name)
    _png_looks_like_a_figure(demo_run / "results/experiments/gap_context/heatmaps.png")


def test_gap_context_sweep_covers_its_grid(demo_run):
    scores = pd.read_parquet(demo_run / "results/experiments/gap_context/scores.parquet")
    assert set(scores["system"]) == {"corrupted", "interp.corrupted", "lpc", "unet"}
    assert scores["id"].nunique() >= 2
    per_cell = scores.groupby(["system", "gap_ms", "context_ms"]).size()
    assert len(per_cell) == 4 * 2 * 2 and per_cell.nunique() == 1
    assert (scores.loc[scores.system == "corrupted", "in_gap_snr_db"] == 0).all()
    table = (demo_run / "results/experiments/gap_context/table.md").read_text()
    assert "context 40 ms" in table and "context 120 ms" in table and "U-Net (corrupted phase)" in table


def test_report_builds_with_every_category(demo_run):
    import zipfile

    for name in ("report.html", "report.zip"):
        result = run_snakemake(demo_run, "--report", f"results/{name}")
        assert result.returncode == 0, result.stderr[-3000:]
    html = (demo_run / "results/report.html").read_text()
    for category in REPORT_CATEGORIES:
        assert category in html
    assert "Config digest" in html and "gap_context" in html
    with zipfile.ZipFile(demo_run / "results/report.zip") as archive:
        names = archive.namelist()
    # The zip keeps each result's file name under a folder of its own.
    assert any(n.endswith("/training_pix2pix.png") for n in names) and any(n.endswith("/heatmaps.png") for n in names)
    assert sum(n.endswith("/noise.html") for n in names) == 2  # its table page and its audio page
    audio_page = (demo_run / "results/report/audio/gap.html").read_text()
    examples = audio_page.count("<h2>")
    assert examples >= 1 and audio_page.count("<audio controls") == examples * 12  # target + 11 gap systems


def _chromium():
    import shutil

    return shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")


@pytest.mark.skipif(_chromium() is None, reason="no headless browser: install Debian's chromium to run this test")
def test_report_renders_in_a_headless_browser(demo_run, tmp_path):
    import subprocess

    report = demo_run / "results/report.html"
    if not report.exists():
        assert run_snakemake(demo_run, "--report", "results/report.html").returncode == 0
    browser = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--virtual-time-budget=10000"]
    pages = {
        "report": report,
        "table": demo_run / "results/report/tables/gap.html",
        "audio": demo_run / "results/report/audio/gap.html",
    }
    for name, page in pages.items():
        shot = tmp_path / f"{name}.png"
        result = subprocess.run(
            [*browser, "--window-size=1280,900", "--enable-logging=stderr", "--v=0", f"--screenshot={shot}", str(page)],
            capture_output=True, text=True, timeout=180,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr[-2000:]
        console = [line for line in result.stderr.splitlines() if "CONSOLE" in line]
        assert not [line for line in console if "Uncaught" in line or "rror" in line], console
        _png_looks_like_a_figure(shot)
        dom = subprocess.run([*browser, "--dump-dom", str(page)], capture_output=True, text=True, timeout=180).stdout
        if name == "report":  # the app built its menu from the results
            assert all(category in dom for category in REPORT_CATEGORIES)
        elif name == "table":
            assert "<table>" in dom and "PESQ" in dom and "corrupted input" in dom
        else:
            assert "<audio" in dom and "data:audio/flac;base64," in dom


def test_snakemake_restore_repairs_a_folder_with_the_trained_model(demo_run, speech, tmp_path):
    folder = tmp_path / "calls"
    folder.mkdir()
    x, rate = next(iter(speech.values()))
    gap = slice(int(0.5 * rate), int(0.56 * rate))
    y = x.copy()
    y[gap] = 0
    sf.write(folder / "call.wav", y, rate, subtype="PCM_16")
    sf.write(folder / "clean.flac", x, rate, subtype="PCM_16")
    result = run_snakemake(demo_run, "restore", "--config", f"restore_input={folder}", "restore_task=gap")
    assert result.returncode == 0, result.stderr[-4000:]
    assert "1 of 1 steps (100%) done" in result.stderr  # the gap task's U-Net is already trained
    out = demo_run / "results/recordings/calls"
    report = pd.read_csv(out / "restore_report.csv").set_index("file")
    assert report.loc["call.wav", "status"] == "restored", report.loc["call.wav", "message"]
    assert report.loc["call.wav", "restored_with"].startswith("unet.reconstruct")
    assert report.loc["call.wav", "working_rate"] == 16000 and report.loc["call.wav", "gaps"] == 1
    assert report.loc["clean.flac", "status"] == "unchanged"
    before, after = sf.read(folder / "call.wav", dtype="int16")[0], sf.read(out / "call.wav", dtype="int16")[0]
    mask = pd.read_csv(out / "gaps/call.wav.csv")
    inside = np.zeros(len(before), dtype=bool)
    inside[mask.loc[0, "start_sample"] : mask.loc[0, "end_sample"]] = True
    assert inside[gap].all() and inside.sum() <= gap.stop - gap.start + 2
    assert np.array_equal(before[~inside], after[~inside]) and np.count_nonzero(after[inside]) > 0.9 * inside.sum()
    assert (demo_run / "results/logs/restore_recordings/calls.log").exists()
    assert (demo_run / "results/benchmarks/restore_recordings/calls.tsv").exists()
    missing = run_snakemake(demo_run, "restore", "--dry-run")
    assert missing.returncode != 0
    assert "needs the recordings: --config restore_input=DIR" in missing.stdout + missing.stderr
    wrong = run_snakemake(demo_run, "restore", "--dry-run", "--config", f"restore_input={folder}", "restore_task=hole")
    assert wrong.returncode != 0 and "restore_task" in wrong.stdout + wrong.stderr
    # Snakemake empties the output folder before the job: one that holds the recordings is refused.
    for source, output in ((folder, folder), (folder / "call.wav", folder), (folder, tmp_path)):
        overlap = run_snakemake(
            demo_run, "restore", "--config", f"restore_input={source}", f"restore={{output: {output}}}"
        )
        assert overlap.returncode != 0 and "overlap" in overlap.stdout + overlap.stderr, (source, output)
    assert sorted(p.name for p in folder.iterdir()) == ["call.wav", "clean.flac"]


def test_command_line_denoises_with_the_noise_model_it_is_given(demo_run, speech, tmp_path):
    import subprocess
    import sys

    x, rate = next(iter(speech.values()))
    (tmp_path / "in").mkdir()
    noisy = x + np.random.default_rng(0).normal(0, 0.01, len(x)).astype(np.float32)
    sf.write(tmp_path / "in" / "noisy.wav", noisy, rate, subtype="PCM_16")
    model = demo_run / "results/models/noise/unet"
    command = [sys.executable, "-m", "specrestore.cli", "restore", str(tmp_path / "in")]
    auto = subprocess.run([*command, str(tmp_path / "out"), "--model", str(model)], capture_output=True, text=True)
    assert auto.returncode == 0, auto.stderr[-3000:]
    row = pd.read_csv(tmp_path / "out" / "restore_report.csv").iloc[0]
    assert row["status"] == "restored" and row["task"] == "auto" and row["mask"] == "none"
    assert row["restored_with"].startswith("unet.corrupted") and row["quality_metric"] == "dnsmos_ovrl"
    assert 1 <= row["quality_before"] <= 5 and 1 <= row["quality_after"] <= 5
    assert sf.info(tmp_path / "out" / "noisy.wav").frames == len(noisy)
    wrong = subprocess.run(
        [*command, str(tmp_path / "x"), "--model", str(model), "--task", "gap"], capture_output=True, text=True
    )
    assert wrong.returncode == 2 and "was trained for noise, not gap" in wrong.stderr
