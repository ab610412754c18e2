"""Every preset is a valid config whose whole DAG snakemake can plan (a dry run)."""

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
