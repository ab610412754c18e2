rule synthesize_demo:
    """The demo corpus: English sentences from the project's grammar, spoken by
    espeak-ng voices (offline, deterministic)."""
    output:
        metadata=f"{R}/corpus/demo/metadata.csv",
        audio=directory(f"{R}/corpus/demo/audio"),
    params:
        options=config["corpora"]["demo"],
        seed=config["seed"],
    threads: 2
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../../envs/audio.yaml"
    log:
        log_file("synthesize_demo"),
    benchmark:
        benchmark_file("synthesize_demo")
    script:
        "../scripts/synthesize_demo.py"


rule manifest:
    """Utterance table with speaker-disjoint splits and shards; recordings whose header
    is unusable are listed in rejected.csv."""
    input:
        unpack(corpus_files),
    output:
        manifest=f"{R}/manifest/utterances.parquet",
        rejected=f"{R}/manifest/rejected.csv",
    params:
        corpus=config["corpus"],
        options=corpus_options(),
        preprocess=config["preprocess"],
        splits=config["splits"],
        seed=config["seed"],
        shards=config["shards"],
    threads: 1
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../../envs/audio.yaml"
    log:
        log_file("manifest"),
    script:
        "../scripts/manifest.py"
