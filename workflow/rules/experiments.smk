# Seed 3's gap-versus-context study (experiments.gap_context).
SWEEP = config["experiments"]["gap_context"]
SWEEP_GRID = SWEEP[SWEEP["grid"]]
SWEEP_DIR = f"{R}/experiments/gap_context"
SWEEP_SYSTEMS = ["interp.corrupted" if m == "interp" else m for m in SWEEP["methods"]] + SWEEP["models"]


def sweep_context_name(context_ms):
    return f"{context_ms:g}ms"


def sweep_patch_frames(context_ms, model):
    """Training patches of a per-context model: the longest gap with the context on
    both sides, rounded up to what the network's pooling needs."""
    frames = math.ceil((max(SWEEP_GRID["gap_ms"]) + 2 * context_ms) / 1000 * config["sample_rate"] / config["stft"]["hop"])
    multiple = 2 ** task_model_options(config, SWEEP["task"], model).get("depth", 3)
    return max(multiple, math.ceil(frames / multiple) * multiple)


def sweep_model_dirs(wildcards):
    """The model(s) a sweep job restores with: the task's own, or one per context."""
    if wildcards.system not in SWEEP["models"]:
        return []
    if SWEEP["training"] == "shared":
        return [f"{R}/models/{SWEEP['task']}/{wildcards.system}/best.keras"]
    return [
        f"{SWEEP_DIR}/models/{SWEEP['task']}/{wildcards.system}/{sweep_context_name(c)}/best.keras"
        for c in SWEEP_GRID["context_ms"]
    ]


rule sweep_train:
    """A model for one context width: trained like the task's model, on patches of the
    longest gap plus that context on each side."""
    input:
        unpack(noise_bank_files),
        summary=f"{R}/audio/utterances.parquet",
        stft=expand(f"{R}/stft/{{shard}}.npz", shard=SHARDS),
        clean=expand(f"{R}/audio/{{shard}}.npz", shard=SHARDS),
        corrupted=expand(f"{R}/corrupt/{{{{task}}}}/{{shard}}.npz", shard=SHARDS),
        corruption=expand(f"{R}/corrupt/{{{{task}}}}/{{shard}}.parquet", shard=SHARDS),
    output:
        best=f"{SWEEP_DIR}/models/{{task}}/{{model}}/{{context}}ms/best.keras",
        final=f"{SWEEP_DIR}/models/{{task}}/{{model}}/{{context}}ms/model.keras",
        setup=f"{SWEEP_DIR}/models/{{task}}/{{model}}/{{context}}ms/setup.json",
        history=f"{SWEEP_DIR}/models/{{task}}/{{model}}/{{context}}ms/history.csv",
    params:
        options=lambda wildcards: task_model_options(config, wildcards.task, wildcards.model),
        training=lambda wildcards: {
            **config["training"],
            "patch_frames": sweep_patch_frames(float(wildcards.context), wildcards.model),
        },
        corruptions=lambda wildcards: CORRUPTIONS[wildcards.task],
        spec=lambda wildcards: TASK_SPECS[wildcards.task],
        noise=config["noise"],
        stft=config["stft"],
        sample_rate=config["sample_rate"],
        seed=config["seed"],
    threads: config["training"]["threads"]
    resources:
        gpu=config["training"]["gpu"],
        mem_mb=8000,
        runtime=240,
    conda:
        "../../envs/train.yaml"
    log:
        log_file("sweep_train/{task}/{model}/{context}ms"),
    benchmark:
        benchmark_file("sweep_train/{task}/{model}/{context}ms")
    script:
        "../scripts/train.py"


rule sweep_evaluate:
    """Every gap length and context width for one system on one shard's test utterances."""
    wildcard_constraints:
        system=any_of([s for s in SWEEP_SYSTEMS if s not in SWEEP["models"]]),
    input:
        clean=f"{R}/audio/{{shard}}.npz",
        table=f"{R}/audio/{{shard}}.parquet",
    output:
        f"{SWEEP_DIR}/scores/{{system}}/{{shard}}.parquet",
    params:
        grid=SWEEP_GRID,
        options=config["evaluation"],
        max_utterances=SWEEP["max_utterances"],
        stft=config["stft"],
        sample_rate=config["sample_rate"],
        seed=config["seed"],
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
    conda:
        "../../envs/evaluate.yaml"
    log:
        log_file("sweep_evaluate/{system}/{shard}"),
    benchmark:
        benchmark_file("sweep_evaluate/{system}/{shard}")
    script:
        "../scripts/sweep_evaluate.py"


rule sweep_evaluate_model:
    """The same for a model: the task's own, or the one trained for each context."""
    wildcard_constraints:
        system=any_of(SWEEP["models"]),
    input:
        clean=f"{R}/audio/{{shard}}.npz",
        table=f"{R}/audio/{{shard}}.parquet",
        models=sweep_model_dirs,
    output:
        f"{SWEEP_DIR}/scores/{{system}}/{{shard}}.parquet",
    params:
        grid=SWEEP_GRID,
        max_utterances=SWEEP["max_utterances"],
        stft=config["stft"],
        sample_rate=config["sample_rate"],
        seed=config["seed"],
    threads: 1
    resources:
        mem_mb=4000,
        runtime=120,
    conda:
        "../../envs/sweep_model.yaml"
    log:
        log_file("sweep_evaluate_model/{system}/{shard}"),
    benchmark:
        benchmark_file("sweep_evaluate_model/{system}/{shard}")
    script:
        "../scripts/sweep_evaluate_model.py"


rule sweep_table:
    """The sweep's tables and heat maps."""
    input:
        expand(f"{SWEEP_DIR}/scores/{{system}}/{{shard}}.parquet", system=SWEEP_SYSTEMS, shard=SHARDS),
    output:
        scores=f"{SWEEP_DIR}/scores.parquet",
        summary=f"{SWEEP_DIR}/summary.csv",
        markdown=f"{SWEEP_DIR}/table.md",
        heatmaps=report(
            f"{SWEEP_DIR}/heatmaps.png",
            caption=report_caption("gap_context"),
            category="Experiments",
            labels={"task": SWEEP["task"], "experiment": "gap versus context"},
        ),
    params:
        systems=["corrupted"] + SWEEP_SYSTEMS,
        models=SWEEP["models"],
        training=SWEEP["training"],
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../../envs/evaluate.yaml"
    log:
        log_file("sweep_table"),
    script:
        "../scripts/sweep_table.py"
