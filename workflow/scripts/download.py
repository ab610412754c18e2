from specrestore.joblog import job_log

log = job_log(snakemake.log[0])

from pathlib import Path

from specrestore.download import fetch

options = snakemake.params.options
archive = snakemake.params.archive
fetch(
    archive,
    Path(snakemake.output[0]),
    retries=options["retries"],
    backoff_s=options["backoff_s"],
    timeout_s=options["timeout_s"],
)
