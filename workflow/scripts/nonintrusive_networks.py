from specrestore.joblog import job_log

log = job_log(snakemake.log[0])

from pathlib import Path

from specrestore.nonintrusive import write_network_parts

for path in write_network_parts(str(Path(snakemake.output[0]).parent)):
    log.info("wrote %s", path)
