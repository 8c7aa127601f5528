# Reference values for Mantel-Haenszel (rma.mh) and Peto (rma.peto) pooling.
# Run from the repository root:   Rscript validation/generate_reference.R mh
#
# Each case stores the table columns under their metafor names (ai, bi, ci, di / x1i, t1i, x2i, t2i)
# and the Python keyword arguments under `args` (`fun` names the Python function, column arguments
# name columns of `data`, level is a proportion). `expected` uses the acuevidence vocabulary:
#   estimate = b, se, statistic = zval, p_value = pval, ci_lower/ci_upper = ci.lb/ci.ub,
#   q = QE, q_p_value = QEp, i2 = I2 (percent, as metafor), h2 = H2,
#   cmh_statistic/cmh_p_value = MH/MHp (OR, IRR), cochran_statistic/p = CO/COp (OR),
#   breslow_day_statistic/p = BD/BDp and tarone_statistic/p = TA/TAp (OR),
#   k = k (tables used), k_yi = k.yi (study estimates in the Q test), k_total = k.all.

source("validation/r/common.R")

cases <- list()
add_case <- function(x) cases[[length(cases) + 1L]] <<- x

deparse1c <- function(x) paste(deparse(x, width.cutoff = 500L), collapse = " ")

# fun: "rma.mh" or "rma.peto"; cols: table columns of df; opts: options passed to R (level in %).
mk <- function(id, fun, df, dname, cols, opts = list()) {
  df <- as.data.frame(df)[, cols, drop = FALSE]
  rargs <- c(setNames(lapply(cols, as.name), cols), list(data = as.name("df")), opts)
  res <- suppressWarnings(do.call(fun, rargs))
  optstr <- if (length(opts)) paste0(", ", paste(names(opts), vapply(opts, deparse1c, ""), sep = " = ", collapse = ", ")) else ""
  call <- paste0(fun, "(", paste(cols, cols, sep = " = ", collapse = ", "), ", data = ", dname, optstr, ")")
  pyargs <- c(list(fun = if (fun == "rma.mh") "mantel_haenszel" else "peto"), setNames(as.list(cols), cols))
  for (nm in names(opts)) pyargs[[nm]] <- if (nm == "level") opts[[nm]] / 100 else opts[[nm]]
  # NA (undefined in metafor) is kept as an explicit null
  g <- function(name) {
    v <- unname(as.numeric(res[[name]]))
    if (!length(v) || is.na(v[1])) NA else num(v[1])[[1]]
  }
  expected <- list(
    estimate = g("b"), se = g("se"), statistic = g("zval"), p_value = g("pval"),
    ci_lower = g("ci.lb"), ci_upper = g("ci.ub"),
    q = g("QE"), q_p_value = g("QEp"), i2 = g("I2"), h2 = g("H2"),
    k = res$k, k_yi = res$k.yi, k_total = res$k.all
  )
  # rma.peto has none of the tests: they are stored as null (NA), as are tests metafor leaves NA.
  tests <- c(cmh_statistic = "MH", cmh_p_value = "MHp", cochran_statistic = "CO",
             cochran_p_value = "COp", breslow_day_statistic = "BD", breslow_day_p_value = "BDp",
             tarone_statistic = "TA", tarone_p_value = "TAp")
  for (key in names(tests)) expected[[key]] <- g(tests[[key]])
  add_case(case(id, call, lapply(as.list(df), I), pyargs, expected))  # I(): keep 1-row columns as arrays
}

# The data as an R expression, so that every recorded call is exact and self-contained.
lit <- function(df) paste0("data.frame(", paste(names(df), vapply(df, function(x) deparse1c(unname(x)), ""), sep = " = ", collapse = ", "), ")")
BCG <- "with(dat.bcg, data.frame(ai = tpos, bi = tneg, ci = cpos, di = cneg))"
COLLINS <- "with(subset(dat.collins1985a, !is.na(d.xti)), data.frame(ai = d.xti, n1i = nti, ci = d.xci, n2i = nci))"

# ---- data sets ------------------------------------------------------------------------------
bcg <- with(dat.bcg, data.frame(ai = tpos, bi = tneg, ci = cpos, di = cneg))
lee <- dat.lee2004[, c("ai", "n1i", "ci", "n2i")]
yusuf9 <- subset(dat.yusuf1985, table == "9" & !is.na(ai))[, c("ai", "n1i", "ci", "n2i")]
yusuf10 <- subset(dat.yusuf1985, table == "10" & !is.na(ai))[, c("ai", "n1i", "ci", "n2i")]
collins <- with(subset(dat.collins1985a, !is.na(d.xti)), data.frame(ai = d.xti, n1i = nti, ci = d.xci, n2i = nci))
niel07 <- dat.nielweise2007[, c("ai", "n1i", "ci", "n2i")]
hart <- dat.hart1999[, c("x1i", "t1i", "x2i", "t2i")]
niel08 <- dat.nielweise2008[, c("x1i", "t1i", "x2i", "t2i")]
# hand-made: single-zero studies
zero1 <- data.frame(ai = c(0, 3, 5, 2, 8), n1i = c(20, 25, 30, 18, 40),
                    ci = c(2, 0, 7, 4, 10), n2i = c(20, 24, 31, 20, 41))
# hand-made: two double-zero studies (rows 1 and 3) and single zeros
zero2 <- data.frame(ai = c(0, 3, 0, 2, 8, 1), n1i = c(20, 25, 30, 18, 40, 15),
                    ci = c(0, 1, 0, 4, 10, 0), n2i = c(21, 24, 31, 20, 41, 15))
# hand-made: a study where everyone had the event (bi = di = 0)
allev <- data.frame(ai = c(10, 5, 7, 3), bi = c(0, 15, 18, 20), ci = c(12, 8, 9, 6), di = c(0, 14, 15, 19))
# hand-made: a single study, and two studies
one <- data.frame(ai = 12, n1i = 50, ci = 20, n2i = 48)
two <- data.frame(ai = c(12, 4), n1i = c(50, 30), ci = c(20, 9), n2i = c(48, 31))
# hand-made: person-time data with single and double zeros
zeroir <- data.frame(x1i = c(0, 2, 5, 0, 3), t1i = c(100, 150, 200, 120, 90),
                     x2i = c(3, 0, 9, 0, 6), t2i = c(110, 140, 210, 100, 95))

c4 <- c("ai", "bi", "ci", "di")
cn <- c("ai", "n1i", "ci", "n2i")
cir <- c("x1i", "t1i", "x2i", "t2i")

# ---- dat.bcg ---------------------------------------------------------------------------------
mk("bcg_or_correct", "rma.mh", bcg, BCG, c4, list(measure = "OR"))
mk("bcg_or_nocorrect", "rma.mh", bcg, BCG, c4, list(measure = "OR", correct = FALSE))
mk("bcg_or_level90", "rma.mh", bcg, BCG, c4, list(measure = "OR", level = 90))
mk("bcg_rr", "rma.mh", bcg, BCG, c4, list(measure = "RR"))
mk("bcg_rd", "rma.mh", bcg, BCG, c4, list(measure = "RD"))
mk("bcg_peto", "rma.peto", bcg, BCG, c4)

# ---- dat.lee2004 (acupoint P6 stimulation) ---------------------------------------------------
mk("lee_or_correct", "rma.mh", lee, "dat.lee2004", cn, list(measure = "OR"))
mk("lee_or_nocorrect", "rma.mh", lee, "dat.lee2004", cn, list(measure = "OR", correct = FALSE))
mk("lee_rr", "rma.mh", lee, "dat.lee2004", cn, list(measure = "RR"))
mk("lee_rd", "rma.mh", lee, "dat.lee2004", cn, list(measure = "RD"))
mk("lee_peto", "rma.peto", lee, "dat.lee2004", cn)

# ---- dat.yusuf1985 (table 9 has double-zero studies; table 10 has none) ----------------------
mk("yusuf9_or", "rma.mh", yusuf9, "subset(dat.yusuf1985, table == '9' & !is.na(ai))", cn, list(measure = "OR"))
mk("yusuf9_or_nocorrect", "rma.mh", yusuf9, "subset(dat.yusuf1985, table == '9' & !is.na(ai))", cn, list(measure = "OR", correct = FALSE))
mk("yusuf9_rr", "rma.mh", yusuf9, "subset(dat.yusuf1985, table == '9' & !is.na(ai))", cn, list(measure = "RR"))
mk("yusuf9_rd", "rma.mh", yusuf9, "subset(dat.yusuf1985, table == '9' & !is.na(ai))", cn, list(measure = "RD"))
mk("yusuf9_peto", "rma.peto", yusuf9, "subset(dat.yusuf1985, table == '9' & !is.na(ai))", cn)
mk("yusuf9_or_drop00_both", "rma.mh", yusuf9, "subset(dat.yusuf1985, table == '9' & !is.na(ai))", cn, list(measure = "OR", drop00 = c(TRUE, TRUE)))
mk("yusuf10_or", "rma.mh", yusuf10, "subset(dat.yusuf1985, table == '10' & !is.na(ai))", cn, list(measure = "OR"))
mk("yusuf10_peto", "rma.peto", yusuf10, "subset(dat.yusuf1985, table == '10' & !is.na(ai))", cn)

# ---- dat.collins1985a (deaths; zero and double-zero studies) ---------------------------------
mk("collins_or", "rma.mh", collins, COLLINS, cn, list(measure = "OR"))
mk("collins_rr", "rma.mh", collins, COLLINS, cn, list(measure = "RR"))
mk("collins_rd", "rma.mh", collins, COLLINS, cn, list(measure = "RD"))
mk("collins_peto", "rma.peto", collins, COLLINS, cn)

# ---- dat.nielweise2007 (catheter infections; single zeros) ------------------------------------
mk("niel07_or", "rma.mh", niel07, "dat.nielweise2007", cn, list(measure = "OR"))
mk("niel07_or_nocorrect", "rma.mh", niel07, "dat.nielweise2007", cn, list(measure = "OR", correct = FALSE))
mk("niel07_rr", "rma.mh", niel07, "dat.nielweise2007", cn, list(measure = "RR"))
mk("niel07_rd", "rma.mh", niel07, "dat.nielweise2007", cn, list(measure = "RD"))
mk("niel07_peto", "rma.peto", niel07, "dat.nielweise2007", cn)
mk("niel07_or_add_all", "rma.mh", niel07, "dat.nielweise2007", cn, list(measure = "OR", add = c(0.5, 0.5), to = c("all", "all")))

# ---- person-time: dat.hart1999, dat.nielweise2008 --------------------------------------------
mk("hart_irr_correct", "rma.mh", hart, "dat.hart1999", cir, list(measure = "IRR"))
mk("hart_irr_nocorrect", "rma.mh", hart, "dat.hart1999", cir, list(measure = "IRR", correct = FALSE))
mk("hart_ird", "rma.mh", hart, "dat.hart1999", cir, list(measure = "IRD"))
mk("niel08_irr", "rma.mh", niel08, "dat.nielweise2008", cir, list(measure = "IRR"))
mk("niel08_ird", "rma.mh", niel08, "dat.nielweise2008", cir, list(measure = "IRD"))

# ---- hand-made: single zeros -------------------------------------------------------------------
mk("zero1_or", "rma.mh", zero1, lit(zero1), cn, list(measure = "OR"))
mk("zero1_or_nocorrect", "rma.mh", zero1, lit(zero1), cn, list(measure = "OR", correct = FALSE))
mk("zero1_rr", "rma.mh", zero1, lit(zero1), cn, list(measure = "RR"))
mk("zero1_rd", "rma.mh", zero1, lit(zero1), cn, list(measure = "RD"))
mk("zero1_peto", "rma.peto", zero1, lit(zero1), cn)
mk("zero1_or_add025", "rma.mh", zero1, lit(zero1), cn, list(measure = "OR", add = 0.25))
mk("zero1_or_to_all", "rma.mh", zero1, lit(zero1), cn, list(measure = "OR", to = "all"))
mk("zero1_or_if0all", "rma.mh", zero1, lit(zero1), cn, list(measure = "OR", to = "if0all"))
mk("zero1_rr_add_both_only0", "rma.mh", zero1, lit(zero1), cn, list(measure = "RR", add = c(0.5, 0.5), to = c("only0", "only0")))

# ---- hand-made: double zeros -------------------------------------------------------------------
mk("zero2_or", "rma.mh", zero2, lit(zero2), cn, list(measure = "OR"))
mk("zero2_or_nocorrect", "rma.mh", zero2, lit(zero2), cn, list(measure = "OR", correct = FALSE))
mk("zero2_or_keep00", "rma.mh", zero2, lit(zero2), cn, list(measure = "OR", drop00 = FALSE))
mk("zero2_or_drop00_both", "rma.mh", zero2, lit(zero2), cn, list(measure = "OR", drop00 = c(TRUE, TRUE)))
mk("zero2_or_add_tables", "rma.mh", zero2, lit(zero2), cn, list(measure = "OR", add = c(0.5, 0.5), to = c("only0", "only0")))
mk("zero2_or_add_tables_if0all", "rma.mh", zero2, lit(zero2), cn, list(measure = "OR", add = c(0.5, 0.5), to = c("only0", "if0all")))
mk("zero2_rr", "rma.mh", zero2, lit(zero2), cn, list(measure = "RR"))
mk("zero2_rr_keep00", "rma.mh", zero2, lit(zero2), cn, list(measure = "RR", drop00 = FALSE))
mk("zero2_rd", "rma.mh", zero2, lit(zero2), cn, list(measure = "RD"))
mk("zero2_rd_keep00", "rma.mh", zero2, lit(zero2), cn, list(measure = "RD", drop00 = FALSE))
mk("zero2_rd_drop00_both", "rma.mh", zero2, lit(zero2), cn, list(measure = "RD", drop00 = c(TRUE, TRUE)))
mk("zero2_peto", "rma.peto", zero2, lit(zero2), cn)
mk("zero2_peto_keep00", "rma.peto", zero2, lit(zero2), cn, list(drop00 = FALSE))
mk("zero2_peto_drop00_both", "rma.peto", zero2, lit(zero2), cn, list(drop00 = c(TRUE, TRUE)))
mk("zero2_peto_add_tables", "rma.peto", zero2, lit(zero2), cn, list(add = c(0.5, 0.5), to = c("only0", "only0")))

# ---- hand-made: all-event study, k = 1, k = 2 --------------------------------------------------
mk("allev_or", "rma.mh", allev, lit(allev), c4, list(measure = "OR"))
mk("allev_rr", "rma.mh", allev, lit(allev), c4, list(measure = "RR"))
mk("allev_rd", "rma.mh", allev, lit(allev), c4, list(measure = "RD"))
mk("allev_peto", "rma.peto", allev, lit(allev), c4)
mk("one_or", "rma.mh", one, lit(one), cn, list(measure = "OR"))
mk("one_rd", "rma.mh", one, lit(one), cn, list(measure = "RD"))
mk("one_peto", "rma.peto", one, lit(one), cn)
mk("two_or", "rma.mh", two, lit(two), cn, list(measure = "OR"))
mk("two_rr_level99", "rma.mh", two, lit(two), cn, list(measure = "RR", level = 99))

# ---- hand-made person-time with zeros ----------------------------------------------------------
mk("zeroir_irr", "rma.mh", zeroir, lit(zeroir), cir, list(measure = "IRR"))
mk("zeroir_irr_nocorrect", "rma.mh", zeroir, lit(zeroir), cir, list(measure = "IRR", correct = FALSE))
mk("zeroir_irr_keep00", "rma.mh", zeroir, lit(zeroir), cir, list(measure = "IRR", drop00 = FALSE))
mk("zeroir_irr_drop00_both", "rma.mh", zeroir, lit(zeroir), cir, list(measure = "IRR", drop00 = c(TRUE, TRUE)))
mk("zeroir_irr_add_tables", "rma.mh", zeroir, lit(zeroir), cir, list(measure = "IRR", add = c(0.5, 0.5), to = c("only0", "only0")))
mk("zeroir_ird", "rma.mh", zeroir, lit(zeroir), cir, list(measure = "IRD"))
mk("zeroir_ird_to_all", "rma.mh", zeroir, lit(zeroir), cir, list(measure = "IRD", to = "all"))

write_reference("mh", cases)
