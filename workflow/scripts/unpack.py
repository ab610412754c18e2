from specrestore.joblog import job_log

log = job_log(snakemake.log[0])

from pathlib import Path

from specrestore.download import extract

target = extract(Path(snakemake.input[0]), Path(snakemake.output[0]), strip_top_level=snakemake.params.strip_top_level)
log.info("unpacked %s into %s", snakemake.input[0], target)
