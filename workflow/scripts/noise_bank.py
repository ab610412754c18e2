from specrestore.joblog import job_log

log = job_log(snakemake.log[0])

import pandas as pd

from specrestore.corpora import esc50
from specrestore.manifest import SPLITS
from specrestore.noise import build_bank, collect_babble_talkers, esc50_bank
from specrestore.store import write_arrays

options = snakemake.params.options
if snakemake.params.source == "esc50":
    bank = esc50_bank(esc50.listing(snakemake.input.esc50, options["folds"]), snakemake.params.sample_rate)
else:
    utterances = pd.read_parquet(snakemake.input.utterances)
    audio_files = dict(enumerate(snakemake.input.audio))
    talkers = collect_babble_talkers(utterances, audio_files, snakemake.params.seed)
    splits = [s for s in SPLITS if s in set(utterances["split"])]
    for split in splits:
        if "babble" in options["kinds"] and not talkers.get(split):
            log.warning("split %s gets no babble: no other split may lend it speakers", split)
    bank = build_bank(
        splits,
        options["kinds"],
        options["recordings_per_kind"],
        options["duration_s"],
        snakemake.params.sample_rate,
        snakemake.params.seed,
        talkers,
        tuple(options["babble_talkers"]),
    )
write_arrays(
    snakemake.output.bank, {f"noise/{r.id}": r.audio for r in bank}, {"sample_rate": snakemake.params.sample_rate}
)
table = pd.DataFrame(
    [
        {
            "id": r.id,
            "kind": r.kind,
            "split": r.split,
            "duration_s": len(r.audio) / snakemake.params.sample_rate,
            "sources": " ".join(r.sources),
        }
        for r in bank
    ]
)
table.to_parquet(snakemake.output.table, index=False)
log.info("noise bank: %d recordings\n%s", len(table), table.groupby(["split", "kind"]).size().to_string())
