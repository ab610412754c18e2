from specrestore.joblog import job_log

log = job_log(snakemake.log[0])

from pathlib import Path

from specrestore.report import markdown_to_html

markdown = Path(snakemake.input[0]).read_text(encoding="utf-8")
title = markdown.splitlines()[0].lstrip("# ").strip() if markdown.startswith("#") else Path(snakemake.input[0]).stem
Path(snakemake.output[0]).write_text(markdown_to_html(markdown, title), encoding="utf-8")
log.info("table page %s", snakemake.output[0])
