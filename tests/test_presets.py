"""Every preset is a valid config whose whole DAG snakemake can plan (a dry run)."""

import re
from pathlib import Path

import pytest
import yaml

from conftest import REPO, run_snakemake

PRESETS = sorted(p.name for p in (REPO / "presets").glob("*.yaml"))


def test_there_is_a_preset_per_seed():
    assert {f"seed{n}.yaml" for n in range(5)} <= set(PRESETS)


@pytest.mark.parametrize("preset", PRESETS)
def test_preset_plans_a_complete_run(preset, tmp_path):
    config = yaml.safe_load((REPO / "presets" / preset).read_text())
    folder = config.get("corpora", {}).get("folder", {}).get("path")
    if config.get("corpus") == "folder" and folder:
        # Presets name folders relative to the repository root, where users run them.
        resolved = (REPO / folder).resolve()
        if not resolved.is_dir():
            pytest.skip(f"{preset} needs {resolved}")
        config["corpora"]["folder"]["path"] = str(resolved)
    (tmp_path / "config.yaml").write_text((REPO / "config.yaml").read_text())
    (tmp_path / "preset.yaml").write_text(yaml.safe_dump(config))
    result = run_snakemake(tmp_path, "--dry-run", "--configfile", str(tmp_path / "preset.yaml"))
    assert result.returncode == 0, result.stderr[-3000:]
    planned = result.stdout + result.stderr
    results = config.get("results", "results")
    for entry in config.get("tasks", []):
        assert f"{results}/tables/{entry['name']}.md" in planned
        for model in entry.get("models", []):
            assert f"{results}/models/{entry['name']}/{model}/best.keras" in planned, (preset, model)
    assert Path(results).parts[0] == "results"


DOWNLOADED = {"librispeech", "vctk", "voicebank_demand", "commonvoice"}


@pytest.mark.parametrize(
    "preset", [p for p in PRESETS if yaml.safe_load((REPO / "presets" / p).read_text()).get("corpus") in DOWNLOADED]
)
def test_real_corpus_presets_plan_their_downloads(preset, tmp_path):
    config = yaml.safe_load((REPO / "presets" / preset).read_text())
    (tmp_path / "config.yaml").write_text((REPO / "config.yaml").read_text())
    result = run_snakemake(tmp_path, "--dry-run", "--configfile", str(REPO / "presets" / preset))
    assert result.returncode == 0, result.stderr[-3000:]
    planned = result.stdout + result.stderr
    assert f"resources/{config['corpus']}/archives/" in planned and "rule unpack:" in planned
    if config.get("noise") == "esc50":
        assert "resources/esc50/archives/" in planned


def offline_overrides(preset: str) -> list[str] | None:
    """The `--config` a preset's comment gives for running it offline, if any."""
    text = (REPO / "presets" / preset).read_text()
    commands = re.findall(r"--configfile presets/\S+ --config (.+)$", text, re.M)
    return commands[0].split() if commands else None


OFFLINE = [p for p in PRESETS if offline_overrides(p)]


def test_seed_presets_on_downloaded_corpora_say_how_to_run_offline():
    assert {"seed0.yaml", "seed1.yaml", "seed2.yaml"} <= set(OFFLINE)


@pytest.mark.parametrize("preset", OFFLINE)
def test_offline_variant_of_a_preset_plans_without_downloads(preset, tmp_path):
    (tmp_path / "config.yaml").write_text((REPO / "config.yaml").read_text())
    preset_file = str(REPO / "presets" / preset)
    result = run_snakemake(tmp_path, "--dry-run", "--configfile", preset_file, "--config", *offline_overrides(preset))
    assert result.returncode == 0, result.stderr[-3000:]
    planned = result.stdout + result.stderr
    assert "rule download:" not in planned and "rule synthesize_demo:" in planned
