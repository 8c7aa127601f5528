#!/usr/bin/env Rscript
# Regenerate every pinned metafor reference file under validation/reference/.
# Run from the repository root:   Rscript validation/generate_reference.R
# Needs Debian's r-base-core, r-cran-metafor, r-cran-metadat and r-cran-jsonlite. CI never runs
# this script: it reads the JSON files it wrote.
args <- commandArgs(trailingOnly = TRUE)
groups <- if (length(args)) args else sub("\\.R$", "", setdiff(list.files("validation/r", pattern = "\\.R$"), "common.R"))
for (g in groups) {
  message("== ", g)
  source(file.path("validation/r", paste0(g, ".R")), local = new.env())
}
