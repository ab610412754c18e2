rule download:
    """One corpus or noise archive, resumed after an interruption and verified against
    its checksum; a pre-downloaded copy named in the config is used instead."""
    output:
        f"{DL}/{{source}}/archives/{{filename}}",
    params:
        archive=lambda wildcards: archive_of(wildcards.source, filename=wildcards.filename),
        options=config["downloads"],
    threads: 1
    resources:
        mem_mb=500,
        runtime=600,
    conda:
        "../../envs/audio.yaml"
    log:
        log_file("download/{source}/{filename}"),
    script:
        "../scripts/download.py"


rule unpack:
    """An archive unpacked into its own folder (through a temporary one, renamed into
    place when complete)."""
    input:
        lambda wildcards: f"{DL}/{wildcards.source}/archives/{archive_of(wildcards.source, key=wildcards.key).name}",
    output:
        directory(f"{DL}/{{source}}/unpacked/{{key}}"),
    params:
        strip_top_level=lambda wildcards: wildcards.source == "esc50",
    threads: 1
    resources:
        mem_mb=1000,
        runtime=120,
    conda:
        "../../envs/audio.yaml"
    log:
        log_file("unpack/{source}/{key}"),
    script:
        "../scripts/unpack.py"
