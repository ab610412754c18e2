from specrestore.joblog import job_log

log = job_log(snakemake.log[0])

import pandas as pd

from specrestore.manifest import split_summary

tables = [pd.read_parquet(p) for p in snakemake.input.tables]
utterances = pd.concat(tables, ignore_index=True).sort_values("id", ignore_index=True)
rejected = pd.concat(
    [pd.read_csv(snakemake.input.manifest_rejected, dtype=str)]
    + [pd.read_csv(p, dtype=str) for p in snakemake.input.rejected],
    ignore_index=True,
).sort_values("path", ignore_index=True)
rejected.to_csv(snakemake.output.rejected, index=False)
log.info("%d utterances usable, %d recordings rejected", len(utterances), len(rejected))
if utterances.empty:
    raise SystemExit(
        f"no usable recordings remain: all {len(rejected)} were rejected (see {snakemake.output.rejected})"
    )
utterances.to_parquet(snakemake.output.utterances, index=False)
# The split of every manifest utterance, so that a split whose every recording was
# rejected shows as a row of zeros instead of disappearing.
assigned = pd.read_parquet(snakemake.input.manifest, columns=["split"])["split"].unique()
splits = split_summary(utterances, assigned)
for split in splits.loc[splits["utterances"] == 0, "split"]:
    log.warning("split %s has no usable utterance left", split)
log.info("after every rejection:\n%s", splits.to_string(index=False))
splits.to_csv(snakemake.output.splits, index=False)
