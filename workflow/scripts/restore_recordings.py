from specrestore.joblog import job_log

log = job_log(snakemake.log[0])

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from pathlib import Path

from specrestore.detection import DetectionParams
from specrestore.recordings import RestoreOptions, make_restorer, restore_folder

options = snakemake.params.options
model = Path(snakemake.input.model).parent if hasattr(snakemake.input, "model") else None
if model is not None:
    from specrestore.training import configure_backend

    configure_backend(snakemake.threads)
restorer = make_restorer(snakemake.params.task, model, options["method"], options["phase"], snakemake.params.evaluation)
report = restore_folder(
    snakemake.input.recordings,
    snakemake.output[0],
    restorer,
    RestoreOptions(
        task=snakemake.params.task,
        detection=DetectionParams.from_config(options["detection"]),
        chunk_s=options["chunk_s"],
        context_s=options["context_s"],
        crossfade_ms=options["crossfade_ms"],
        quality=options["quality"],
        masks=Path(snakemake.input.masks) if hasattr(snakemake.input, "masks") else None,
        threads=snakemake.threads,
    ),
)
log.info("%s", report["status"].value_counts().to_dict())
