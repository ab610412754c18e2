from specrestore.joblog import job_log

log = job_log(snakemake.log[0])

from specrestore.dsp import StftParams
from specrestore.restoration import restore
from specrestore.restored import restore_test_split

system, options = snakemake.wildcards.system, snakemake.params.options
params, sample_rate = StftParams.from_config(snakemake.params.stft), snakemake.params.sample_rate
restored = restore_test_split(
    lambda utterance: restore(system, utterance, sample_rate, params, options),
    system,
    snakemake.input.table,
    snakemake.input.clean,
    snakemake.input.corrupted,
    sample_rate,
    snakemake.output.audio,
)
restored.to_parquet(snakemake.output.table, index=False)
