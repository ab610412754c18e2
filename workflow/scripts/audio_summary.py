from specrestore.joblog import job_log

log = job_log(snakemake.log[0])

import pandas as pd

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
