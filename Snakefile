# specrestore: speech restoration in the STFT domain. Stages are in workflow/rules,
# their scripts in workflow/scripts, the logic in the library workflow/specrestore.
from snakemake.utils import min_version

min_version("9.0")


configfile: "config.yaml"


include: "workflow/rules/common.smk"
include: "workflow/rules/download.smk"
include: "workflow/rules/corpus.smk"
include: "workflow/rules/features.smk"
include: "workflow/rules/corrupt.smk"
include: "workflow/rules/models.smk"
include: "workflow/rules/evaluate.smk"
include: "workflow/rules/experiments.smk"
include: "workflow/rules/report.smk"
include: "workflow/rules/recordings.smk"


# Seconds of work on small files: not worth a cluster submission.
localrules:
    all,
    audio_summary,
    task_table,
    summary_table,
    table_page,
    summary_page,
    nonintrusive_networks,


rule all:
    input:
        all_outputs(),
    default_target: True
