"""The workflow submitted through snakemake's SLURM executor to a real one-node SLURM
(started by tests/cluster/slurm-up.sh), against the same workflow run locally."""

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from conftest import REPO, run, tiny_config

pytestmark = pytest.mark.slow

CLUSTER_SCRIPTS = REPO / "tests" / "cluster"
PROFILE = REPO / "profiles" / "slurm"
# One task, one model (which asks the scheduler for a GPU) and the classical methods.
CONFIG = tiny_config(
    tasks=[{"name": "gap", "gap": {}, "models": ["cnn8"]}],
    evaluation={"phase": ["corrupted"]},
)
LOCAL_RULES = {"all", "audio_summary", "task_table", "summary_table", "nonintrusive_networks"}


def why_slurm_cannot_run() -> str | None:
    if not sys.platform.startswith("linux"):
        return "a one-node SLURM needs Linux"
    if os.geteuid() != 0:
        return "starting SLURM's daemons (and installing them) needs root"
    if not shutil.which("slurmctld") and not shutil.which("apt-get"):
        return "SLURM is not installed and there is no apt-get to install it"
    for name in ("slurm.conf", "gres.conf"):
        path = Path("/etc/slurm") / name
        if path.exists() and not path.is_symlink():
            return f"{path} exists: this machine belongs to a real SLURM that the test must not touch"
    try:
        import snakemake_executor_plugin_slurm  # noqa: F401
    except ImportError:
        return "snakemake-executor-plugin-slurm is not installed"
    return None


@pytest.fixture(scope="module")
def slurm(tmp_path_factory):
    reason = why_slurm_cannot_run()
    if reason:
        pytest.skip(reason)
    state = tmp_path_factory.mktemp("slurm")
    try:
        up = subprocess.run(
            ["bash", str(CLUSTER_SCRIPTS / "slurm-up.sh"), str(state)], capture_output=True, text=True, timeout=600
        )
        assert up.returncode == 0, f"slurm-up.sh failed:\n{up.stdout}\n{up.stderr}"
        yield {"SLURM_CONF": str(state / "slurm.conf")}
    finally:
        subprocess.run(["bash", str(CLUSTER_SCRIPTS / "slurm-down.sh"), str(state)], timeout=120)


def scheduler_jobs(env: dict, workdir: Path) -> list[dict]:
    """Every job SLURM still remembers (finished ones for MinJobAge) that ran in ``workdir``."""
    shown = subprocess.run(
        ["scontrol", "--oneliner", "show", "job"], capture_output=True, text=True, env={**os.environ, **env}
    )
    assert shown.returncode == 0, shown.stderr
    jobs = []
    for line in shown.stdout.splitlines():
        fields = dict(re.findall(r"(\w+)=(\S*)", line))
        if fields.get("WorkDir") == str(workdir):
            jobs.append(fields)
    return jobs


@pytest.fixture(scope="module")
def runs(slurm, tmp_path_factory):
    local = tmp_path_factory.mktemp("local")
    result = run(local, CONFIG)
    assert result.returncode == 0, result.stderr[-4000:]
    cluster = tmp_path_factory.mktemp("cluster")
    # The site settings stay as shipped (SLURM's default partition, no account). One
    # training thread, as locally, since this node has two cores. Without sacct the
    # executor polls squeue; a hung client ignores SIGTERM, and subprocess's timeout
    # sends SIGKILL.
    result = run(
        cluster,
        CONFIG,
        "--workflow-profile", str(PROFILE),
        "--set-threads", "train=1",
        "--resources", "group_slots=2",  # a grouped job may then ask for this node's 2 cores
        "--slurm-init-seconds-before-status-checks", "5",
        "--jobs", "4",
        env=slurm,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-6000:]
    return {"local": local, "cluster": cluster, "jobs": scheduler_jobs(slurm, cluster), "output": result.stderr}


def test_every_job_went_through_the_scheduler(runs):
    jobs = runs["jobs"]
    submitted = re.findall(r"submitted with SLURM jobid (\d+)", runs["output"])
    assert submitted and sorted(job["JobId"] for job in jobs) == sorted(submitted)
    assert all(job["JobState"] == "COMPLETED" for job in jobs), [(j["Comment"], j["JobState"]) for j in jobs]
    names = {re.match(r"rule_(.+?)(_wildcards_.*)?$", job["Comment"]).group(1) for job in jobs}
    # A group job is named by its group and the rules in it: "score_gap_000_evaluate_...".
    names = {re.sub(r"^((?:features|score_[a-z]+)_\d{3})_.*", r"\1", name) for name in names}
    assert names == {
        "synthesize_demo", "manifest", "resample", "train", "example_figure", "audio_examples",
        "training_figure", "difficulty_figure",
        # the profile's groups: one submission per shard, and per (task, shard)
        "features_000", "features_001", "score_gap_000", "score_gap_001",
    }  # fmt: skip
    assert not names & LOCAL_RULES
    # Each scoring group restored and scored its shard with every system: corrupted,
    # interp.corrupted, lpc, cnn8.corrupted.
    for shard in ("000", "001"):
        for system in ("corrupted", "interp.corrupted", "lpc", "cnn8.corrupted"):
            assert (runs["cluster"] / f"results/metrics/gap/{system}/{shard}.parquet").is_file()


def test_training_was_granted_a_gpu(runs):
    (train,) = [job for job in runs["jobs"] if job["Comment"].startswith("rule_train_")]
    assert train["TresPerJob"] == "gres:gpu:1"
    others = [job for job in runs["jobs"] if job is not train]
    assert all(job.get("TresPerJob", "") in ("", "(null)") for job in others)
    log = (runs["cluster"] / "results/logs/train/gap/cnn8.log").read_text()
    assert "GPUs requested 1, CUDA_VISIBLE_DEVICES='0'" in log


def test_resources_reach_the_scheduler(runs):
    by_rule = {job["Comment"].split("_wildcards_")[0]: job for job in runs["jobs"]}
    assert "mem=16000M" in by_rule["rule_train"]["TRES"]  # the profile's set-resources
    assert "mem=2000M" in by_rule["rule_resample"]["TRES"]  # the rule's own mem_mb
    # A group runs two jobs side by side (group_slots=2): two cores, and the memory of
    # the two largest (stft 4000 MB beside a 2000 MB corruption).
    features = [job for job in runs["jobs"] if job["Comment"].startswith("rule_features_")]
    assert len(features) == 2
    assert features and all(job["NumCPUs"] == "2" and "mem=6000M" in job["TRES"] for job in features)
    assert by_rule["rule_synthesize_demo"]["NumCPUs"] == "2"  # the rule's threads
    assert by_rule["rule_train"]["TimeLimit"] == "08:00:00"


def test_tables_equal_the_local_run(runs):
    tables = sorted(p.name for p in (runs["local"] / "results/tables").iterdir())
    assert tables == sorted(p.name for p in (runs["cluster"] / "results/tables").iterdir())
    assert {"gap.csv", "gap.md", "gap.tex", "summary.md"} <= set(tables)
    for name in tables:
        local, cluster = (runs[where] / "results/tables" / name for where in ("local", "cluster"))
        assert local.read_bytes() == cluster.read_bytes(), name
    scores = [pd.read_parquet(runs[where] / "results/metrics/gap.parquet") for where in ("local", "cluster")]
    pd.testing.assert_frame_equal(*scores)
    assert "cnn8.corrupted" in set(scores[0]["system"])


def test_site_settings_are_filled_in_one_place(tmp_path):
    """What a user edits (the profile's __variables__) reaches every job's resources."""
    pytest.importorskip("snakemake_executor_plugin_slurm")
    profile = tmp_path / "profile"
    shutil.copytree(PROFILE, profile)
    text = (profile / "config.yaml").read_text()
    for key, value in {"partition": "cpu-short", "gpu_partition": "gpu-a100", "account": "proj42"}.items():
        text, count = re.subn(rf"(?m)^  {key}: null", f'  {key}: "{value}"', text)
        assert count == 1, key
    (profile / "config.yaml").write_text(text)
    result = run(tmp_path / "work", CONFIG, "--workflow-profile", str(profile), "--dry-run")
    assert result.returncode == 0, result.stderr[-3000:]
    jobs = re.findall(r"^rule (\w+):\n(.*?)^\s+resources: (.*?)$", result.stdout, re.M | re.S)
    resources = {name: dict(re.findall(r"(\w+)=([^,]+)", line)) for name, _, line in jobs}
    assert resources["train"]["slurm_partition"] == "gpu-a100" and resources["train"]["gpu"] == "1"
    assert resources["resample"]["slurm_partition"] == "cpu-short" and "gpu" not in resources["resample"]
    assert all(r["slurm_account"] == "proj42" for r in resources.values())


def _submissions(result: subprocess.CompletedProcess) -> dict[str, int]:
    """What a dry run through the profile would submit: group jobs counted by group
    (their member jobs are printed indented), other jobs by rule, local rules left out."""
    counts: dict[str, int] = {}
    for line in result.stdout.splitlines():
        group = re.search(r"Group job ([a-z]+)_", line)
        rule = re.match(r"rule (\w+):", line)
        name = f"group {group.group(1)}" if group else rule.group(1) if rule else None
        if name and name not in LOCAL_RULES | {"table_page", "summary_page"}:
            counts[name] = counts.get(name, 0) + 1
    return counts


def test_short_jobs_are_submitted_in_groups(tmp_path):
    """The default tasks with 4 shards: restoration and scoring per (task, shard), the
    STFT cache and corruptions per shard, each one submission."""
    pytest.importorskip("snakemake_executor_plugin_slurm")
    config = {**yaml.safe_load((REPO / "config.yaml").read_text()), "shards": 4}
    result = run(tmp_path / "work", config, "--workflow-profile", str(PROFILE), "--dry-run")
    assert result.returncode == 0, result.stderr[-3000:]
    counts = _submissions(result)
    assert counts["group score"] == 4 * 4 and counts["group features"] == 4
    assert not {"stft", "corrupt", "restore_classical", "restore_model", "evaluate"} & set(counts)
    assert sum(counts.values()) == 61, counts
