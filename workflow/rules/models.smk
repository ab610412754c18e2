rule train:
    """One model trained for one task on fresh corruptions of the clean training audio
    (the task's own corruptions, noise from the bank; mfccnet and paired noise: the
    corrupted training shards), validated on the corrupted valid shards; resumes from
    its last finished epoch if it was killed. cunet starts dropouts from the LPC fill
    of evaluation.lpc, and noise from RNNoise's output where its noise_fill says so."""
    input:
        unpack(noise_bank_files),
        summary=f"{R}/audio/utterances.parquet",
        stft=expand(f"{R}/stft/{{shard}}.npz", shard=SHARDS),
        clean=expand(f"{R}/audio/{{shard}}.npz", shard=SHARDS),
        corrupted=expand(f"{R}/corrupt/{{{{task}}}}/{{shard}}.npz", shard=SHARDS),
        corruption=expand(f"{R}/corrupt/{{{{task}}}}/{{shard}}.parquet", shard=SHARDS),
    output:
        best=f"{R}/models/{{task}}/{{model}}/best.keras",
        final=f"{R}/models/{{task}}/{{model}}/model.keras",
        setup=f"{R}/models/{{task}}/{{model}}/setup.json",
        history=f"{R}/models/{{task}}/{{model}}/history.csv",
    params:
        options=lambda wildcards: task_model_options(config, wildcards.task, wildcards.model),
        training=config["training"],
        corruptions=lambda wildcards: CORRUPTIONS[wildcards.task],
        spec=lambda wildcards: TASK_SPECS[wildcards.task],
        noise=config["noise"],
        lpc=config["evaluation"]["lpc"],
        stft=config["stft"],
        sample_rate=config["sample_rate"],
        seed=config["seed"],
    threads: config["training"]["threads"]
    priority: lambda wildcards: TRAINING_PRIORITY[wildcards.model]
    resources:
        gpu=config["training"]["gpu"],
        mem_mb=8000,
        runtime=240,
    conda:
        "../../envs/train.yaml"
    log:
        log_file("train/{task}/{model}"),
    benchmark:
        benchmark_file("train/{task}/{model}")
    script:
        "../scripts/train.py"


rule restore_model:
    """Restore the test utterances of one shard with a trained model (and, for
    spectrogram models, the phase its system names); 24-bit FLAC per utterance."""
    wildcard_constraints:
        system=any_of(MODEL_SYSTEMS),
    input:
        unpack(model_files),
        clean=f"{R}/audio/{{shard}}.npz",
        table=f"{R}/audio/{{shard}}.parquet",
        corrupted=f"{R}/corrupt/{{task}}/{{shard}}.npz",
    output:
        audio=directory(f"{R}/restored/{{task}}/{{system}}/{{shard}}"),
        table=f"{R}/restored/{{task}}/{{system}}/{{shard}}.parquet",
    params:
        iterations=config["evaluation"]["griffin_lim_iterations"],
        stft=config["stft"],
        sample_rate=config["sample_rate"],
    threads: 1
    resources:
        mem_mb=4000,
        runtime=60,
    conda:
        "../../envs/train.yaml"
    log:
        log_file("restore/{task}/{system}/{shard}"),
    benchmark:
        benchmark_file("restore/{task}/{system}/{shard}")
    script:
        "../scripts/restore_model.py"
