rule restore_classical:
    """Restore the test utterances of one shard with one system that needs no training:
    a classical method (with its phase where it restores magnitudes) or a peer denoiser
    (DeepFilterNet3, RNNoise); 24-bit FLAC per utterance."""
    wildcard_constraints:
        system=any_of(CLASSICAL_SYSTEMS),
    input:
        clean=f"{R}/audio/{{shard}}.npz",
        table=f"{R}/audio/{{shard}}.parquet",
        corrupted=f"{R}/corrupt/{{task}}/{{shard}}.npz",
    output:
        audio=directory(f"{R}/restored/{{task}}/{{system}}/{{shard}}"),
        table=f"{R}/restored/{{task}}/{{system}}/{{shard}}.parquet",
    params:
        options=config["evaluation"],
        stft=config["stft"],
        sample_rate=config["sample_rate"],
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../../envs/evaluate.yaml"
    log:
        log_file("restore/{task}/{system}/{shard}"),
    benchmark:
        benchmark_file("restore/{task}/{system}/{shard}")
    script:
        "../scripts/restore.py"


rule nonintrusive_networks:
    """The parts of speechmos's PLCMOS and DNSMOS networks that the evaluate jobs run,
    cut out once per run: loading `onnx` to cut them would cost every job half a second."""
    output:
        expand(f"{R}/models/scoring/{{part}}.onnx", part=NETWORK_PARTS),
    conda:
        "../../envs/evaluate.yaml"
    log:
        log_file("nonintrusive_networks"),
    script:
        "../scripts/nonintrusive_networks.py"


rule evaluate:
    """Every metric of the task for one system and shard, one row per utterance."""
    input:
        networks=rules.nonintrusive_networks.output,
        audio=f"{R}/restored/{{task}}/{{system}}/{{shard}}",
        restored=f"{R}/restored/{{task}}/{{system}}/{{shard}}.parquet",
        clean=f"{R}/audio/{{shard}}.npz",
        corrupted=f"{R}/corrupt/{{task}}/{{shard}}.npz",
        corruption=f"{R}/corrupt/{{task}}/{{shard}}.parquet",
    output:
        f"{R}/metrics/{{task}}/{{system}}/{{shard}}.parquet",
    params:
        corruptions=lambda wildcards: CORRUPTIONS[wildcards.task],
        stft=config["stft"],
        sample_rate=config["sample_rate"],
        dnsmos_window_hop_s=config["evaluation"]["dnsmos_window_hop_s"],
    threads: 1
    resources:
        mem_mb=2000,
        runtime=60,
    conda:
        "../../envs/evaluate.yaml"
    log:
        log_file("evaluate/{task}/{system}/{shard}"),
    benchmark:
        benchmark_file("evaluate/{task}/{system}/{shard}")
    script:
        "../scripts/evaluate.py"


rule task_table:
    """One task's table (Markdown, CSV, LaTeX), each learned model against the strongest
    other systems (in the Markdown and a CSV of its own) and all per-utterance scores."""
    input:
        metric_files,
    output:
        markdown=f"{R}/tables/{{task}}.md",
        csv=f"{R}/tables/{{task}}.csv",
        latex=f"{R}/tables/{{task}}.tex",
        versus=f"{R}/tables/{{task}}_versus.csv",
        scores=f"{R}/metrics/{{task}}.parquet",
    params:
        systems=lambda wildcards: SYSTEMS[wildcards.task],
        corruptions=lambda wildcards: CORRUPTIONS[wildcards.task],
        spec=lambda wildcards: TASK_SPECS[wildcards.task],
        corpus=config["corpus"],
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../../envs/evaluate.yaml"
    log:
        log_file("task_table/{task}"),
    script:
        "../scripts/task_table.py"


rule summary_table:
    """The tasks side by side, and where the learned models stand in each."""
    input:
        tables=expand(f"{R}/tables/{{task}}.csv", task=TASKS),
        versus=expand(f"{R}/tables/{{task}}_versus.csv", task=TASKS),
    output:
        f"{R}/tables/summary.md",
    params:
        tasks=TASKS,
    threads: 1
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../../envs/evaluate.yaml"
    log:
        log_file("summary_table"),
    script:
        "../scripts/summary_table.py"


rule example_figure:
    """Spectrograms of the same test utterances: Target | Corrupted | each system."""
    input:
        utterances=f"{R}/audio/utterances.parquet",
        clean=expand(f"{R}/audio/{{shard}}.npz", shard=SHARDS),
        restored=restored_tables,
    output:
        report(
            f"{R}/figures/{{task}}/examples.png",
            caption=report_caption("example_figure"),
            category="Examples",
            labels={"task": "{task}", "figure": "spectrograms"},
        ),
    params:
        systems=lambda wildcards: SYSTEMS[wildcards.task],
        examples=config["evaluation"]["examples"],
        seed=config["seed"],
        stft=config["stft"],
        sample_rate=config["sample_rate"],
    threads: 1
    resources:
        mem_mb=2000,
        runtime=10,
    conda:
        "../../envs/evaluate.yaml"
    log:
        log_file("example_figure/{task}"),
    script:
        "../scripts/example_figure.py"
