rule noise_bank:
    """Noise recordings for each split (white, pink, brown, hum, bursts, babble of
    another split's speakers)."""
    input:
        utterances=f"{R}/audio/utterances.parquet",
        audio=expand(f"{R}/audio/{{shard}}.npz", shard=SHARDS),
        **({"esc50": unpacked("esc50")["ESC-50"]} if config["noise"] == "esc50" else {}),
    output:
        bank=f"{R}/noise/bank.npz",
        table=f"{R}/noise/bank.parquet",
    params:
        source=config["noise"],
        options=config["noise_sources"].get(config["noise"], {}),
        sample_rate=config["sample_rate"],
        seed=config["seed"],
    threads: 1
    priority: PREPARATION_PRIORITY
    resources:
        mem_mb=4000,
        runtime=20,
    conda:
        "../../envs/audio.yaml"
    log:
        log_file("noise_bank"),
    benchmark:
        benchmark_file("noise_bank")
    script:
        "../scripts/noise_bank.py"


rule corrupt:
    """One task's corruption of one shard: corrupted audio, masks, regions (noise from
    the noise bank, or each utterance's own noisy recording with `noise: paired`)."""
    input:
        unpack(noise_bank_files),
        audio=f"{R}/audio/{{shard}}.npz",
        table=f"{R}/audio/{{shard}}.parquet",
        summary=f"{R}/audio/utterances.parquet",
    output:
        audio=f"{R}/corrupt/{{task}}/{{shard}}.npz",
        table=f"{R}/corrupt/{{task}}/{{shard}}.parquet",
        regions=f"{R}/corrupt/{{task}}/{{shard}}.regions.parquet",
    params:
        spec=lambda wildcards: TASK_SPECS[wildcards.task],
        noise=config["noise"],
        stft=config["stft"],
        sample_rate=config["sample_rate"],
        seed=config["seed"],
    threads: 1
    priority: PREPARATION_PRIORITY
    resources:
        mem_mb=2000,
        runtime=30,
    conda:
        "../../envs/audio.yaml"
    log:
        log_file("corrupt/{task}/{shard}"),
    benchmark:
        benchmark_file("corrupt/{task}/{shard}")
    script:
        "../scripts/corrupt.py"
