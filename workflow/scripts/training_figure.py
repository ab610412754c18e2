from specrestore.joblog import job_log

log = job_log(snakemake.log[0])

import pandas as pd

from specrestore.figures import training_curves

history = pd.read_csv(snakemake.input[0])
training_curves(history, snakemake.wildcards.model, snakemake.wildcards.task, snakemake.output[0])
log.info("training curves of %s/%s: %d epochs", snakemake.wildcards.task, snakemake.wildcards.model, len(history))
