rule resample:
    """Decode, mix to mono, resample and level-normalise one shard."""
    input:
        manifest=f"{R}/manifest/utterances.parquet",
    output:
        audio=f"{R}/audio/{{shard}}.npz",
        table=f"{R}/audio/{{shard}}.parquet",
        rejected=f"{R}/audio/{{shard}}.rejected.csv",
    params:
        sample_rate=config["sample_rate"],
        level_dbfs=config["preprocess"]["level_dbfs"],
    threads: 1
    priority: PREPARATION_PRIORITY
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../../envs/audio.yaml"
    log:
        log_file("resample/{shard}"),
    benchmark:
        benchmark_file("resample/{shard}")
    script:
        "../scripts/resample.py"


rule audio_summary:
    """All prepared utterances in one table, every rejected recording in another and
    the final speakers, utterances and minutes per split; stops the run if no
    recording is usable."""
    input:
        manifest=f"{R}/manifest/utterances.parquet",
        manifest_rejected=f"{R}/manifest/rejected.csv",
        tables=expand(f"{R}/audio/{{shard}}.parquet", shard=SHARDS),
        rejected=expand(f"{R}/audio/{{shard}}.rejected.csv", shard=SHARDS),
    output:
        utterances=f"{R}/audio/utterances.parquet",
        rejected=f"{R}/audio/rejected.csv",
        splits=f"{R}/audio/splits.csv",
    threads: 1
    priority: PREPARATION_PRIORITY
    resources:
        mem_mb=1000,
        runtime=10,
    conda:
        "../../envs/audio.yaml"
    log:
        log_file("audio_summary"),
    script:
        "../scripts/audio_summary.py"


rule stft:
    """Magnitude and phase cache of one shard."""
    input:
        audio=f"{R}/audio/{{shard}}.npz",
        table=f"{R}/audio/{{shard}}.parquet",
        summary=f"{R}/audio/utterances.parquet",
    output:
        cache=f"{R}/stft/{{shard}}.npz",
        table=f"{R}/stft/{{shard}}.parquet",
    params:
        stft=config["stft"],
    threads: 1
    priority: PREPARATION_PRIORITY
    resources:
        mem_mb=4000,
        runtime=30,
    conda:
        "../../envs/audio.yaml"
    log:
        log_file("stft/{shard}"),
    benchmark:
        benchmark_file("stft/{shard}")
    script:
        "../scripts/stft.py"
