# Shared helpers for the metafor reference generators.
# Each generator (validation/r/<group>.R) builds a list of cases with case() and hands it to
# write_reference(group, cases), which writes validation/reference/<group>.json with a header
# naming R, metafor and the exact call of every case.

suppressPackageStartupMessages({
  library(metafor)
  library(metadat)
  library(jsonlite)
})

# metafor's defaults stop at about 1e-5; the references are computed at tight tolerances so that
# the Python engine (which converges to 1e-10) can be compared at 1e-8 or better.
TIGHT <- list(threshold = 1e-12, maxiter = 10000, stepadj = 0.5, tol = .Machine$double.eps^0.5)

num <- function(x) {
  # JSON-safe numbers: NA/NaN -> null, +-Inf kept as strings, names dropped.
  x <- unname(as.numeric(x))
  lapply(x, function(v) if (is.na(v)) NULL else if (is.infinite(v)) (if (v > 0) "Inf" else "-Inf") else v)
}

case <- function(id, call, data, args, expected) {
  # call: the exact R expression (as a string) that produced `expected`.
  list(id = id, call = call, data = data, args = args, expected = expected)
}

write_reference <- function(group, cases, out_dir = "validation/reference") {
  ids <- vapply(cases, function(c) c$id, "")
  if (anyDuplicated(ids)) stop("duplicate case ids in ", group, ": ", paste(ids[duplicated(ids)], collapse = ", "))
  doc <- list(
    meta = list(
      group = group,
      r_version = R.version$version.string,
      metafor_version = as.character(packageVersion("metafor")),
      metadat_version = as.character(packageVersion("metadat")),
      generator = paste0("validation/r/", group, ".R"),
      n_cases = length(cases)
    ),
    cases = cases
  )
  path <- file.path(out_dir, paste0(group, ".json"))
  writeLines(toJSON(doc, auto_unbox = TRUE, digits = NA, null = "null", na = "null", pretty = 1), path)
  message("wrote ", length(cases), " cases to ", path)
}
