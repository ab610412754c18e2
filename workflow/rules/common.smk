import math
import os
import re
import sys
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.utils import validate

# The library lives beside the rules. Putting it on the path here (and in PYTHONPATH,
# which every job inherits, locally, in conda envs and on cluster nodes) means the
# workflow runs from a checkout without a separate install step.
LIBRARY_DIR = str(Path(workflow.basedir) / "workflow")
sys.path.insert(0, LIBRARY_DIR)
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [LIBRARY_DIR, os.environ.get("PYTHONPATH")]))

from specrestore.audio import find_audio_files
from specrestore.config import (
    ConfigError,
    config_problems,
    load_schema,
    task_corruptions,
    task_model_options,
    task_models,
)
from specrestore.corpora.archives import needed_archives
from specrestore.corruption import Task
from specrestore.nonintrusive import NETWORK_PARTS
from specrestore.report import config_digest, front_page, software_versions
from specrestore.restoration import MODEL_METHODS, UNTRAINED_METHODS, parse_system, system_ids
from specrestore.seeding import shard_name

SCHEMA = Path(workflow.basedir) / "workflow" / "schemas" / "config.schema.yaml"

# Our own pass first, so that every problem (schema and rules across keys) is reported
# at once with the key it concerns; snakemake's validate then fills in the defaults.
_problems = config_problems(config, load_schema(SCHEMA))
if _problems:
    raise ConfigError("invalid config:\n  " + "\n  ".join(_problems))
validate(config, str(SCHEMA))

R = config["results"]
DL = config["downloads"]["folder"]
ARCHIVES = needed_archives(config)
SHARDS = [shard_name(i) for i in range(config["shards"])]
TASK_SPECS = task_corruptions(config)
TASKS = list(TASK_SPECS)
NOISE_TASKS = [t for t, spec in TASK_SPECS.items() if "noise" in spec]
CORRUPTIONS = {t: Task.from_config(t, spec).corruptions for t, spec in TASK_SPECS.items()}
MODELS = task_models(config)
SYSTEMS = {
    t: system_ids(config["evaluation"]["methods"] + MODELS[t], config["evaluation"]["phase"], CORRUPTIONS[t])
    for t in TASKS
}
ALL_SYSTEMS = sorted({s for systems in SYSTEMS.values() for s in systems})
# Classical methods and the peer denoisers: systems that need no model trained here.
CLASSICAL_SYSTEMS = [s for s in ALL_SYSTEMS if parse_system(s)[0] in UNTRAINED_METHODS]
MODEL_SYSTEMS = [s for s in ALL_SYSTEMS if parse_system(s)[0] in MODEL_METHODS]
# Trainings before the short restore and scoring jobs, the longest first (Pix2Pix trains
# two networks): otherwise a training that starts last keeps one core busy while the
# other waits at the end of the run. The cheap steps every training waits on go first
# of all, or a task's corruption waits behind the other tasks' trainings.
TRAINING_PRIORITY = {"pix2pix": 50, "unet": 40, "cnn8": 30, "cunet": 20, "mfccnet": 10}
PREPARATION_PRIORITY = 100


def any_of(names):
    """A wildcard constraint matching exactly these names (never an empty regex)."""
    return "|".join(re.escape(n) for n in names) or "(?!)"


wildcard_constraints:
    shard=r"\d\d\d+",
    task="|".join(TASKS),
    system=any_of(ALL_SYSTEMS),
    model=any_of(MODEL_METHODS),
    context=r"\d+(\.\d+)?",


def archive_of(source, filename=None, key=None):
    """The archive of a download source, by its file name or by its key."""
    for archive_key, archive in ARCHIVES.get(source, {}).items():
        if archive.name == filename or archive_key == key:
            return archive
    raise ValueError(f"no archive {filename or key!r} for {source!r} in this config")


def unpacked(source):
    """The unpacked folders of a download source: key -> folder."""
    return {key: f"{DL}/{source}/unpacked/{key}" for key in ARCHIVES.get(source, {})}


def log_file(name):
    return f"{R}/logs/{name}.log"


def report_caption(name):
    return str(Path(workflow.basedir) / "workflow" / "report" / f"{name}.rst")


def benchmark_file(name):
    return f"{R}/benchmarks/{name}.tsv"


def corpus_files(wildcards):
    """What the manifest is built from: the synthesized demo corpus, or every
    recording of the folder corpus (so that adding or changing one reruns the
    manifest)."""
    if config["corpus"] == "demo":
        return {"metadata": f"{R}/corpus/demo/metadata.csv"}
    if config["corpus"] in ARCHIVES:
        return {"unpacked": list(unpacked(config["corpus"]).values())}
    options = config["corpora"]["folder"]
    return {"audio": [str(p) for p in find_audio_files(options["path"], options["extensions"])]}


def corpus_options():
    if config["corpus"] in ARCHIVES:
        return {**config["corpora"][config["corpus"]], "unpacked": unpacked(config["corpus"])}
    if config["corpus"] == "demo":
        return {"path": f"{R}/corpus/demo/audio", "extensions": ["wav"], "speaker_regex": None, "split_groups": []}
    return config["corpora"]["folder"]


def noise_bank_files(wildcards):
    if wildcards.task in NOISE_TASKS and config["noise"] != "paired":
        return {"bank": f"{R}/noise/bank.npz", "bank_table": f"{R}/noise/bank.parquet"}
    return {}


def model_files(wildcards):
    """The trained model a model system restores with."""
    model = parse_system(wildcards.system)[0]
    return {
        "model": f"{R}/models/{wildcards.task}/{model}/best.keras",
        "setup": f"{R}/models/{wildcards.task}/{model}/setup.json",
    }


def restore_output():
    """Where `snakemake restore` writes: restore.output, or a folder named after the input."""
    if config["restore"]["output"]:
        return config["restore"]["output"]
    name = Path(config["restore_input"]).stem if config["restore_input"] else "restored"
    return f"{R}/recordings/{name}"


def restore_inputs(wildcards):
    """The recordings, the mask folder if one is given, and the model: a folder given in
    restore.model, or the first model of the task named restore_task, which the
    pipeline trains if it is missing. Denoising with neither a model nor a method uses
    DeepFilterNet3, which needs no model from the pipeline. Only evaluated when
    `restore` is asked for."""
    if not config["restore_input"]:
        raise WorkflowError("snakemake restore needs the recordings: --config restore_input=DIR restore_task=gap")
    recordings = Path(config["restore_input"])
    if not recordings.exists():
        raise WorkflowError(f"restore_input {recordings}: no such file or folder")
    inputs = {"recordings": str(recordings)}
    source, output = recordings.resolve(), Path(restore_output()).resolve()
    # The output folder is emptied before the job runs: it must not hold a recording, and
    # restored files inside the input folder would be read as recordings next time.
    folder = source if source.is_dir() else source.parent
    if output == folder or output in folder.parents or (source.is_dir() and folder in output.parents):
        raise WorkflowError(
            f"restore.output {restore_output()} and restore_input {recordings} overlap, and snakemake empties "
            "the output folder before restoring: the recordings would be lost; write to another folder"
        )
    if config["restore"]["masks"]:
        masks = Path(config["restore"]["masks"]).resolve()
        if Path(restore_output()).resolve() in [masks, *masks.parents]:
            raise WorkflowError(
                f"restore.masks {config['restore']['masks']} is inside the output folder, which snakemake "
                "empties before restoring; copy the edited masks elsewhere first"
            )
        inputs["masks"] = config["restore"]["masks"]
    restore = config["restore"]
    task = config["restore_task"]
    if restore["model"]:
        inputs["model"] = str(Path(restore["model"]) / "setup.json")
    elif restore["method"] is None and task != "noise":
        models = [m for m in MODELS.get(task, []) if m in MODEL_METHODS]
        if not models:
            raise WorkflowError(
                f"restore_task {task}: this config has no task of that name with a model; "
                "set restore.model to a trained model folder or restore.method to a classical method"
            )
        inputs["model"] = f"{R}/models/{task}/{models[0]}/setup.json"
        inputs["weights"] = f"{R}/models/{task}/{models[0]}/best.keras"
    return inputs


def metric_files(wildcards):
    return [f"{R}/metrics/{wildcards.task}/{s}/{shard}.parquet" for s in SYSTEMS[wildcards.task] for shard in SHARDS]


def restored_tables(wildcards):
    return [f"{R}/restored/{wildcards.task}/{s}/{shard}.parquet" for s in SYSTEMS[wildcards.task] for shard in SHARDS]


def all_outputs():
    outputs = [
        f"{R}/manifest/utterances.parquet",
        f"{R}/audio/utterances.parquet",
        *expand(f"{R}/stft/{{shard}}.npz", shard=SHARDS),
        *expand(f"{R}/tables/{{task}}.md", task=TASKS),
        *expand(f"{R}/figures/{{task}}/examples.png", task=TASKS),
        *expand(f"{R}/figures/{{task}}/difficulty.png", task=TASKS),
        *[f"{R}/figures/{task}/training_{model}.png" for task in TASKS for model in MODELS[task]],
        f"{R}/tables/summary.md",
        *expand(f"{R}/report/tables/{{task}}.html", task=TASKS),
        f"{R}/report/tables/summary.html",
        *expand(f"{R}/report/audio/{{task}}.html", task=TASKS),
    ]
    if config["experiments"]["gap_context"]["enabled"]:
        outputs += [f"{R}/experiments/gap_context/table.md", f"{R}/experiments/gap_context/heatmaps.png"]
    return outputs
