rule restore:
    """Restore one's own recordings (restore_input, a folder or one file) with a
    trained model, a classical method or a peer denoiser (DeepFilterNet3 for noise
    where neither is given): same names, formats, rates and lengths, a report line per
    file and the dropouts each was restored with (gaps/<file>.csv)."""
    input:
        unpack(restore_inputs),
    output:
        directory(restore_output()),
    params:
        task=config["restore_task"],
        options=config["restore"],
        evaluation=config["evaluation"],
    threads: 2
    resources:
        mem_mb=4000,
        runtime=240,
    conda:
        "../../envs/recordings.yaml"
    log:
        log_file(f"restore_recordings/{Path(restore_output()).name}"),
    benchmark:
        benchmark_file(f"restore_recordings/{Path(restore_output()).name}")
    script:
        "../scripts/restore_recordings.py"
