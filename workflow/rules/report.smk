# What `snakemake --report results/report.html` shows: the front page written here from
# the config, and every output below marked with report(category=...).
FRONT_PAGE = Path(".snakemake") / "specrestore" / "front_page.rst"
FRONT_PAGE.parent.mkdir(parents=True, exist_ok=True)
FRONT_PAGE.write_text(front_page(config, config_digest(config), software_versions()))


report: str(FRONT_PAGE.resolve())


rule table_page:
    """A task's table as a page of the report."""
    input:
        f"{R}/tables/{{task}}.md",
    output:
        report(
            f"{R}/report/tables/{{task}}.html",
            caption=report_caption("task_table"),
            category="Tables",
            labels={"task": "{task}"},
        ),
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    conda:
        "../../envs/evaluate.yaml"
    log:
        log_file("table_page/{task}"),
    script:
        "../scripts/table_page.py"


rule summary_page:
    """The summary table as a page of the report."""
    input:
        f"{R}/tables/summary.md",
    output:
        report(
            f"{R}/report/tables/summary.html",
            caption=report_caption("summary_table"),
            category="Tables",
            labels={"task": "all tasks"},
        ),
    threads: 1
    resources:
        mem_mb=500,
        runtime=5,
    conda:
        "../../envs/evaluate.yaml"
    log:
        log_file("table_page/summary"),
    script:
        "../scripts/table_page.py"


rule audio_examples:
    """The example utterances of a task as audio that plays in the report."""
    input:
        utterances=f"{R}/audio/utterances.parquet",
        clean=expand(f"{R}/audio/{{shard}}.npz", shard=SHARDS),
        restored=restored_tables,
    output:
        report(
            f"{R}/report/audio/{{task}}.html",
            caption=report_caption("audio_examples"),
            category="Examples",
            labels={"task": "{task}", "figure": "audio"},
        ),
    params:
        systems=lambda wildcards: SYSTEMS[wildcards.task],
        examples=config["evaluation"]["examples"],
        seed=config["seed"],
        sample_rate=config["sample_rate"],
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../../envs/evaluate.yaml"
    log:
        log_file("audio_examples/{task}"),
    script:
        "../scripts/audio_examples.py"


rule training_figure:
    """Loss curves of one trained model."""
    input:
        f"{R}/models/{{task}}/{{model}}/history.csv",
    output:
        report(
            f"{R}/figures/{{task}}/training_{{model}}.png",
            caption=report_caption("training_curves"),
            category="Training",
            labels={"task": "{task}", "model": "{model}"},
        ),
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../../envs/evaluate.yaml"
    log:
        log_file("training_figure/{task}/{model}"),
    script:
        "../scripts/training_figure.py"


rule difficulty_figure:
    """PESQ and in-region SNR against how hard each utterance's corruption was."""
    input:
        scores=f"{R}/metrics/{{task}}.parquet",
        corruption=expand(f"{R}/corrupt/{{{{task}}}}/{{shard}}.parquet", shard=SHARDS),
        regions=expand(f"{R}/corrupt/{{{{task}}}}/{{shard}}.regions.parquet", shard=SHARDS),
    output:
        figure=report(
            f"{R}/figures/{{task}}/difficulty.png",
            caption=report_caption("difficulty"),
            category="Experiments",
            labels={"task": "{task}", "experiment": "quality against difficulty"},
        ),
        table=f"{R}/tables/{{task}}_difficulty.csv",
    params:
        systems=lambda wildcards: SYSTEMS[wildcards.task],
        corruptions=lambda wildcards: CORRUPTIONS[wildcards.task],
    threads: 1
    resources:
        mem_mb=1000,
        runtime=5,
    conda:
        "../../envs/evaluate.yaml"
    log:
        log_file("difficulty_figure/{task}"),
    script:
        "../scripts/difficulty_figure.py"
