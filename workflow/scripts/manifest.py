from specrestore.joblog import job_log

log = job_log(snakemake.log[0])

import pandas as pd

from specrestore.manifest import prepare_listed_manifest, prepare_manifest, split_summary

options = snakemake.params.options
metadata = None
if snakemake.params.corpus == "demo":
    metadata = pd.read_csv(snakemake.input.metadata).drop(columns=["path", "speaker"])
common = (snakemake.params.preprocess, snakemake.params.splits, snakemake.params.seed, snakemake.params.shards)
if "unpacked" in options:
    manifest, rejected = prepare_listed_manifest(snakemake.params.corpus, options, *common)
else:
    manifest, rejected = prepare_manifest(options["path"], options, *common, metadata)
for row in rejected.itertuples():
    log.warning("rejected %s: %s", row.path, row.reason)
# Not the final counts: the resample stage may still reject recordings whose samples are
# unusable; audio_summary writes the counts after every rejection (audio/splits.csv).
log.info(
    "manifest: %d utterances, %d rejected; splits before the sample checks:\n%s",
    len(manifest),
    len(rejected),
    split_summary(manifest).to_string(index=False),
)
manifest.to_parquet(snakemake.output.manifest, index=False)
rejected.to_csv(snakemake.output.rejected, index=False)
