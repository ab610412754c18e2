from specrestore.joblog import job_log

log = job_log(snakemake.log[0])

from pathlib import Path

import pandas as pd

from specrestore.corpora import demo

options = snakemake.params.options
audio_dir = Path(snakemake.output.audio)
plan = demo.plan_corpus(
    options["speakers"], options["sentences_per_speaker"], snakemake.params.seed, audio_dir, options["noise_floor_dbfs"]
)
log.info("synthesizing %d sentences for %d speakers", len(plan), options["speakers"])
demo.synthesize_corpus(plan, audio_dir.parent / "work", workers=snakemake.threads)
(audio_dir.parent / "work").rmdir()
pd.DataFrame(plan).to_csv(snakemake.output.metadata, index=False)
log.info("wrote %s", snakemake.output.metadata)
