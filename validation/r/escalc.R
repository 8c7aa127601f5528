# metafor's escalc() over metadat data sets and small hand-made data with zeros and tiny samples.
# Run from the repository root:   Rscript validation/generate_reference.R escalc
# Each case records the exact escalc() call; `data` holds the inputs keyed by metafor's argument
# names (so the Python test calls effect_sizes(**args, **data)); `args` holds the options as
# Python keyword arguments (measure, add, to, drop00, vtype).
source("validation/r/common.R")

cases <- list()

# One case: escalc(measure, <arg = column, ...>, data = <dat_name>, <opts>)
es_case <- function(id, measure, dat_name, cols, opts = list()) {
  dat <- get(dat_name)
  arg_str <- paste(sprintf("%s=%s", names(cols), unlist(cols)), collapse = ", ")
  fmt_opt <- function(v) if (is.character(v)) sprintf('"%s"', v) else if (is.logical(v)) (if (v) "TRUE" else "FALSE") else format(v, digits = 17)
  opt_str <- if (length(opts)) paste0(", ", paste(sprintf("%s=%s", names(opts), vapply(opts, fmt_opt, "")), collapse = ", ")) else ""
  call <- sprintf('escalc(measure="%s", %s, data=%s%s)', measure, arg_str, dat_name, opt_str)
  res <- suppressWarnings(eval(parse(text = call)))
  data <- lapply(cols, function(cn) num(dat[[cn]]))
  args <- c(list(measure = measure), opts)
  cases[[length(cases) + 1]] <<- case(id, call, data, args, list(yi = num(res$yi), vi = num(res$vi)))
}

bin_b <- list(ai = "tpos", bi = "tneg", ci = "cpos", di = "cneg")  # dat.bcg: cells
bin_n <- list(ai = "ai", n1i = "n1i", ci = "ci", n2i = "n2i")       # ai, n1i, ci, n2i
bin_c <- list(ai = "ai", bi = "bi", ci = "ci", di = "di")           # hand-made cells

# ---- 2x2 tables --------------------------------------------------------------------------
for (m in c("RR", "OR", "RD", "AS", "PETO")) es_case(paste0("escalc/", m, "/bcg"), m, "dat.bcg", bin_b)
es_case("escalc/RD/bcg/UB", "RD", "dat.bcg", bin_b, list(vtype = "UB"))
es_case("escalc/RD/bcg/AV", "RD", "dat.bcg", bin_b, list(vtype = "AV"))
es_case("escalc/OR/bcg/to=all", "OR", "dat.bcg", bin_b, list(to = "all"))

# acupoint P6 stimulation (Lee & Done 2004): the acupuncture data set
for (m in c("RR", "OR", "RD", "AS", "PETO")) es_case(paste0("escalc/", m, "/lee2004"), m, "dat.lee2004", bin_n)
es_case("escalc/RD/lee2004/UB", "RD", "dat.lee2004", bin_n, list(vtype = "UB"))
es_case("escalc/RD/lee2004/AV", "RD", "dat.lee2004", bin_n, list(vtype = "AV"))

# single zeros and one double-zero study (Yucel 2004)
for (m in c("RR", "OR", "RD", "AS", "PETO")) {
  es_case(paste0("escalc/", m, "/nielweise2007"), m, "dat.nielweise2007", bin_n)
  es_case(paste0("escalc/", m, "/nielweise2007/drop00"), m, "dat.nielweise2007", bin_n, list(drop00 = TRUE))
  es_case(paste0("escalc/", m, "/nielweise2007/to=none"), m, "dat.nielweise2007", bin_n, list(to = "none"))
  es_case(paste0("escalc/", m, "/nielweise2007/to=all"), m, "dat.nielweise2007", bin_n, list(to = "all"))
  es_case(paste0("escalc/", m, "/nielweise2007/to=if0all"), m, "dat.nielweise2007", bin_n, list(to = "if0all"))
}
es_case("escalc/OR/nielweise2007/add=1", "OR", "dat.nielweise2007", bin_n, list(add = 1))
es_case("escalc/OR/nielweise2007/add=0.25/to=all", "OR", "dat.nielweise2007", bin_n, list(add = 0.25, to = "all"))
es_case("escalc/OR/nielweise2007/to=all/drop00", "OR", "dat.nielweise2007", bin_n, list(to = "all", drop00 = TRUE))
es_case("escalc/OR/nielweise2007/to=if0all/drop00", "OR", "dat.nielweise2007", bin_n, list(to = "if0all", drop00 = TRUE))
es_case("escalc/RR/nielweise2007/add=0", "RR", "dat.nielweise2007", bin_n, list(add = 0))
es_case("escalc/AS/nielweise2007/add=0.5", "AS", "dat.nielweise2007", bin_n, list(add = 0.5))
es_case("escalc/RD/nielweise2007/UB", "RD", "dat.nielweise2007", bin_n, list(vtype = "UB"))
es_case("escalc/RD/nielweise2007/AV", "RD", "dat.nielweise2007", bin_n, list(vtype = "AV"))
es_case("escalc/RD/nielweise2007/AV/drop00", "RD", "dat.nielweise2007", bin_n, list(vtype = "AV", drop00 = TRUE))
es_case("escalc/PETO/nielweise2007/add=0", "PETO", "dat.nielweise2007", bin_n, list(add = 0))
es_case("escalc/OR/li2007", "OR", "dat.li2007", bin_n)
es_case("escalc/RR/li2007", "RR", "dat.li2007", bin_n)

# hand-made: a zero in each cell position, double zeros of events and of non-events, arms of 1
zeros2x2 <- data.frame(
  ai = c(0, 3, 5, 7, 0, 10, 1, 0, 2, 4),
  bi = c(10, 0, 5, 3, 12, 0, 0, 1, 2, 6),
  ci = c(4, 6, 0, 2, 0, 8, 1, 1, 0, 5),
  di = c(6, 4, 10, 0, 15, 0, 1, 0, 3, 5)
)
for (m in c("RR", "OR", "RD", "AS", "PETO")) {
  es_case(paste0("escalc/", m, "/zeros2x2"), m, "zeros2x2", bin_c)
  es_case(paste0("escalc/", m, "/zeros2x2/drop00"), m, "zeros2x2", bin_c, list(drop00 = TRUE))
  es_case(paste0("escalc/", m, "/zeros2x2/to=none"), m, "zeros2x2", bin_c, list(to = "none"))
}
es_case("escalc/RD/zeros2x2/UB", "RD", "zeros2x2", bin_c, list(vtype = "UB"))
es_case("escalc/RD/zeros2x2/UB/to=none", "RD", "zeros2x2", bin_c, list(vtype = "UB", to = "none"))
es_case("escalc/RD/zeros2x2/AV/to=if0all/add=1", "RD", "zeros2x2", bin_c, list(vtype = "AV", to = "if0all", add = 1))
es_case("escalc/AS/zeros2x2/add=0.5/to=all", "AS", "zeros2x2", bin_c, list(add = 0.5, to = "all"))

# ---- two groups: means and SDs ------------------------------------------------------------
grp <- list(m1i = "m1i", sd1i = "sd1i", n1i = "n1i", m2i = "m2i", sd2i = "sd2i", n2i = "n2i")
for (m in c("MD", "SMD", "SMDH", "ROM")) {
  es_case(paste0("escalc/", m, "/normand1999"), m, "dat.normand1999", grp)
  es_case(paste0("escalc/", m, "/curtis1998"), m, "dat.curtis1998", grp)
}
for (v in c("UB", "HO")) es_case(paste0("escalc/MD/normand1999/", v), "MD", "dat.normand1999", grp, list(vtype = v))
for (v in c("LS2", "UB", "AV")) {
  es_case(paste0("escalc/SMD/normand1999/", v), "SMD", "dat.normand1999", grp, list(vtype = v))
  es_case(paste0("escalc/SMD/curtis1998/", v), "SMD", "dat.curtis1998", grp, list(vtype = v))
}
es_case("escalc/SMDH/normand1999/LS2", "SMDH", "dat.normand1999", grp, list(vtype = "LS2"))
es_case("escalc/SMDH/curtis1998/LS2", "SMDH", "dat.curtis1998", grp, list(vtype = "LS2"))
for (v in c("HO", "AV", "AVHO")) {
  es_case(paste0("escalc/ROM/normand1999/", v), "ROM", "dat.normand1999", grp, list(vtype = v))
  es_case(paste0("escalc/ROM/curtis1998/", v), "ROM", "dat.curtis1998", grp, list(vtype = v))
}

# hand-made tiny groups: n1i + n2i - 2 = 0, 1, 2, 3 (Hedges' correction undefined for m <= 1)
tiny <- data.frame(
  m1i = c(5.0, 4.2, 3.1, 6.0, 2.5, 10.0),
  sd1i = c(1.0, 1.5, 0.8, 2.0, 0.5, 3.0),
  n1i = c(1, 1, 2, 2, 3, 40),
  m2i = c(4.0, 3.0, 2.9, 5.5, 2.0, 8.0),
  sd2i = c(1.2, 0.9, 1.1, 1.0, 0.7, 2.5),
  n2i = c(1, 2, 2, 3, 3, 38)
)
for (m in c("MD", "SMD", "SMDH", "ROM")) es_case(paste0("escalc/", m, "/tiny"), m, "tiny", grp)
es_case("escalc/MD/tiny/HO", "MD", "tiny", grp, list(vtype = "HO"))
for (v in c("LS2", "UB", "AV")) es_case(paste0("escalc/SMD/tiny/", v), "SMD", "tiny", grp, list(vtype = v))
es_case("escalc/SMDH/tiny/LS2", "SMDH", "tiny", grp, list(vtype = "LS2"))
for (v in c("HO", "AV", "AVHO")) es_case(paste0("escalc/ROM/tiny/", v), "ROM", "tiny", grp, list(vtype = v))

# SMD from a reported Cohen's d or t statistic
dstat <- data.frame(di = c(0.5, -0.2, 1.1, 0.0), ti = c(2.1, -0.9, 3.5, 1.4), n1i = c(20, 35, 12, 50), n2i = c(22, 30, 12, 48))
es_case("escalc/SMD/dstat/di", "SMD", "dstat", list(di = "di", n1i = "n1i", n2i = "n2i"))
es_case("escalc/SMD/dstat/ti", "SMD", "dstat", list(ti = "ti", n1i = "n1i", n2i = "n2i"))
# rows with a d use it, the others their means and SDs (metafor's replmiss)
mixed <- data.frame(m1i = c(10.2, NA, 7.5, NA), sd1i = c(2.1, NA, 1.8, NA), m2i = c(9.1, NA, 7.9, NA),
                    sd2i = c(2.4, NA, 1.5, NA), di = c(NA, 0.35, NA, NA), ti = c(NA, NA, NA, -1.7),
                    n1i = c(30, 25, 18, 40), n2i = c(29, 27, 20, 41))
es_case("escalc/SMD/mixed", "SMD", "mixed", list(m1i = "m1i", sd1i = "sd1i", m2i = "m2i", sd2i = "sd2i", di = "di", ti = "ti", n1i = "n1i", n2i = "n2i"))
es_case("escalc/SMD/dstat/ti/UB", "SMD", "dstat", list(ti = "ti", n1i = "n1i", n2i = "n2i"), list(vtype = "UB"))

# one variance type per study
local({
  call <- 'escalc(measure="SMD", m1i=m1i, sd1i=sd1i, n1i=n1i, m2i=m2i, sd2i=sd2i, n2i=n2i, data=dat.normand1999, vtype=c("LS","LS2","UB","AV","LS","LS2","UB","AV","LS"))'
  res <- eval(parse(text = call))
  dat <- dat.normand1999
  data <- lapply(grp, function(cn) num(dat[[cn]]))
  vt <- c("LS", "LS2", "UB", "AV", "LS", "LS2", "UB", "AV", "LS")
  cases[[length(cases) + 1]] <<- case("escalc/SMD/normand1999/vtype-per-study", call, data, list(measure = "SMD", vtype = vt), list(yi = num(res$yi), vi = num(res$vi)))
})

# ---- one group: means and SDs -------------------------------------------------------------
arm1 <- list(mi = "m1i", sdi = "sd1i", ni = "n1i")
arm2 <- list(mi = "m2i", sdi = "sd2i", ni = "n2i")
for (m in c("MN", "MNLN", "CVLN", "SMN")) {
  es_case(paste0("escalc/", m, "/normand1999/arm1"), m, "dat.normand1999", arm1)
  es_case(paste0("escalc/", m, "/normand1999/arm2"), m, "dat.normand1999", arm2)
  es_case(paste0("escalc/", m, "/tiny/arm1"), m, "tiny", arm1)
}
es_case("escalc/SDLN/normand1999/arm1", "SDLN", "dat.normand1999", list(sdi = "sd1i", ni = "n1i"))
es_case("escalc/SDLN/tiny/arm1", "SDLN", "tiny", list(sdi = "sd1i", ni = "n1i"))
es_case("escalc/MN/curtis1998/arm1", "MN", "dat.curtis1998", arm1)

# ---- correlations ---------------------------------------------------------------------------
corr <- list(ri = "ri", ni = "ni")
for (m in c("COR", "UCOR", "ZCOR")) {
  es_case(paste0("escalc/", m, "/molloy2014"), m, "dat.molloy2014", corr)
  es_case(paste0("escalc/", m, "/mcdaniel1994"), m, "dat.mcdaniel1994", corr)
}
es_case("escalc/COR/molloy2014/AV", "COR", "dat.molloy2014", corr, list(vtype = "AV"))
es_case("escalc/UCOR/molloy2014/UB", "UCOR", "dat.molloy2014", corr, list(vtype = "UB"))
es_case("escalc/UCOR/molloy2014/AV", "UCOR", "dat.molloy2014", corr, list(vtype = "AV"))
es_case("escalc/COR/mcdaniel1994/AV", "COR", "dat.mcdaniel1994", corr, list(vtype = "AV"))
# small samples (vi undefined for ni <= 3; UCOR needs ni > 4) and |r| = 1
smallr <- data.frame(ri = c(0.5, -0.3, 0.9, 0.2, 1.0, -1.0, 0.0, 0.45), ni = c(2, 3, 4, 5, 30, 25, 10, 6))
for (m in c("COR", "UCOR", "ZCOR")) es_case(paste0("escalc/", m, "/smallr"), m, "smallr", corr)
es_case("escalc/COR/smallr/AV", "COR", "smallr", corr, list(vtype = "AV"))
es_case("escalc/UCOR/smallr/UB", "UCOR", "smallr", corr, list(vtype = "UB"))
es_case("escalc/UCOR/smallr/AV", "UCOR", "smallr", corr, list(vtype = "AV"))

# UCOR over a grid of r and small to moderate ni (the hypergeometric function near x = 1).
# metafor evaluates 2F1 with gsl::hyperg_2F1, which is inaccurate for even ni and 0 < |r| <= ~0.05
# (GSL near x = 1 with integer c - a - b; https://github.com/RobinHankin/gsl/issues/13). The
# Python test compares those cells with exact values instead (KNOWN_GSL_ERRORS).
ucorgrid <- expand.grid(ri = c(-0.99, -0.6, -0.1, 0, 0.001, 0.05, 0.3, 0.7, 0.95), ni = c(5, 6, 7, 8, 9, 10, 13, 17, 24, 25, 26, 40, 100, 2500))
for (v in c("LS", "UB")) es_case(paste0("escalc/UCOR/grid/", v), "UCOR", "ucorgrid", corr, list(vtype = v))

# ---- two incidence rates ------------------------------------------------------------------
rates <- list(x1i = "x1i", t1i = "t1i", x2i = "x2i", t2i = "t2i")
for (m in c("IRR", "IRD", "IRSD")) {
  es_case(paste0("escalc/", m, "/hart1999"), m, "dat.hart1999", rates)
  es_case(paste0("escalc/", m, "/nielweise2008"), m, "dat.nielweise2008", rates)
}
zerorates <- data.frame(x1i = c(0, 3, 0, 12, 5), t1i = c(120, 200, 90, 1500, 410), x2i = c(2, 0, 0, 15, 7), t2i = c(130, 180, 95, 1480, 400))
for (m in c("IRR", "IRD", "IRSD")) {
  es_case(paste0("escalc/", m, "/zerorates"), m, "zerorates", rates)
  es_case(paste0("escalc/", m, "/zerorates/drop00"), m, "zerorates", rates, list(drop00 = TRUE))
  es_case(paste0("escalc/", m, "/zerorates/to=none"), m, "zerorates", rates, list(to = "none"))
  es_case(paste0("escalc/", m, "/zerorates/to=all"), m, "zerorates", rates, list(to = "all"))
  es_case(paste0("escalc/", m, "/zerorates/to=if0all/drop00"), m, "zerorates", rates, list(to = "if0all", drop00 = TRUE))
}
es_case("escalc/IRSD/zerorates/add=0.5", "IRSD", "zerorates", rates, list(add = 0.5))
for (m in c("IRR", "IRD")) es_case(paste0("escalc/", m, "/zerorates/add=1/to=if0all"), m, "zerorates", rates, list(add = 1, to = "if0all"))

# ---- one incidence rate -------------------------------------------------------------------
rate1 <- list(xi = "x1i", ti = "t1i")
for (m in c("IR", "IRLN", "IRS", "IRFT")) {
  es_case(paste0("escalc/", m, "/hart1999"), m, "dat.hart1999", rate1)
  es_case(paste0("escalc/", m, "/zerorates"), m, "zerorates", rate1)
  es_case(paste0("escalc/", m, "/zerorates/to=none"), m, "zerorates", rate1, list(to = "none"))
  es_case(paste0("escalc/", m, "/zerorates/to=all/add=1"), m, "zerorates", rate1, list(to = "all", add = 1))
}
for (m in c("IR", "IRLN", "IRS", "IRFT")) es_case(paste0("escalc/", m, "/zerorates/to=if0all/add=0.25"), m, "zerorates", rate1, list(to = "if0all", add = 0.25))
es_case("escalc/IRFT/zerorates/add=0.5", "IRFT", "zerorates", rate1, list(add = 0.5))

# ---- one proportion -----------------------------------------------------------------------
prop_n <- list(xi = "xi", ni = "ni")
prop_m <- list(xi = "xi", mi = "mi")
for (m in c("PR", "PLN", "PLO", "PAS", "PFT")) {
  # pritz1997 has studies with xi == ni (no non-events)
  es_case(paste0("escalc/", m, "/pritz1997"), m, "dat.pritz1997", prop_n)
  es_case(paste0("escalc/", m, "/pritz1997/to=none"), m, "dat.pritz1997", prop_n, list(to = "none"))
  es_case(paste0("escalc/", m, "/pritz1997/to=all"), m, "dat.pritz1997", prop_n, list(to = "all"))
  es_case(paste0("escalc/", m, "/pritz1997/to=if0all/add=0.5"), m, "dat.pritz1997", prop_n, list(to = "if0all", add = 0.5))
  es_case(paste0("escalc/", m, "/debruin2009"), m, "dat.debruin2009", prop_m)
}
es_case("escalc/PR/pritz1997/UB", "PR", "dat.pritz1997", prop_n, list(vtype = "UB"))
es_case("escalc/PR/pritz1997/AV", "PR", "dat.pritz1997", prop_n, list(vtype = "AV"))
es_case("escalc/PR/debruin2009/UB", "PR", "dat.debruin2009", prop_m, list(vtype = "UB"))
es_case("escalc/PR/debruin2009/AV", "PR", "dat.debruin2009", prop_m, list(vtype = "AV"))
es_case("escalc/PLN/pritz1997/AV", "PLN", "dat.pritz1997", prop_n, list(vtype = "AV"))
es_case("escalc/PLO/pritz1997/AV", "PLO", "dat.pritz1997", prop_n, list(vtype = "AV"))
es_case("escalc/PLO/debruin2009/AV", "PLO", "dat.debruin2009", prop_m, list(vtype = "AV"))
zeroprop <- data.frame(xi = c(0, 5, 12, 0, 1, 3), ni = c(15, 5, 40, 1, 1, 9))
for (m in c("PR", "PLN", "PLO", "PAS", "PFT")) {
  es_case(paste0("escalc/", m, "/zeroprop"), m, "zeroprop", prop_n)
  es_case(paste0("escalc/", m, "/zeroprop/to=none"), m, "zeroprop", prop_n, list(to = "none"))
}
es_case("escalc/PR/zeroprop/UB", "PR", "zeroprop", prop_n, list(vtype = "UB"))
es_case("escalc/PR/zeroprop/UB/to=none", "PR", "zeroprop", prop_n, list(vtype = "UB", to = "none"))
es_case("escalc/PLO/zeroprop/AV/add=1", "PLO", "zeroprop", prop_n, list(vtype = "AV", add = 1))

write_reference("escalc", cases)
