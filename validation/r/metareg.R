# Reference values for acuevidence.meta_regression (metafor's rma.uni with mods, anova, predict,
# confint, permutest).
# Run from the repository root:  Rscript validation/generate_reference.R metareg
# Every case stores its data (yi, vi, the moderator variables, weights), the Python arguments
# (the moderator formula is passed to Python verbatim: acuevidence reads factor(x) as C(x)) and
# the exact R call. Iterative fits run at tight tolerances (metafor's defaults stop near 1e-5).
source("validation/r/common.R")

CTRL <- list(threshold = 1e-12, maxiter = 10000, tol = 1e-12)
CTRL_S <- "control=list(threshold=1e-12, maxiter=10000, tol=1e-12)"
CI_CTRL <- list(tol = 1e-12, tau2.max = 1e6)

sets <- list()
add_set <- function(name, df, call) sets[[name]] <<- list(df = df, call = call)

d <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
add_set("bcg", data.frame(yi = as.numeric(d$yi), vi = as.numeric(d$vi), ablat = dat.bcg$ablat,
                          year = dat.bcg$year, alloc = as.character(dat.bcg$alloc),
                          weights = dat.bcg$tpos + dat.bcg$tneg + dat.bcg$cpos + dat.bcg$cneg,
                          stringsAsFactors = FALSE),
        "dat <- escalc('RR', ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)")
r <- dat.raudenbush1985
add_set("raudenbush1985", data.frame(yi = r$yi, vi = r$vi, weeks = r$weeks,
                                     setting = as.character(r$setting), weights = r$n1i + r$n2i,
                                     stringsAsFactors = FALSE),
        "dat <- dat.raudenbush1985")
b <- dat.bangertdrowns2004
keep <- complete.cases(b[, c("length", "wic", "meta", "grade")])
b <- b[keep, ]
add_set("bangertdrowns2004", data.frame(yi = as.numeric(b$yi), vi = as.numeric(b$vi),
                                        length = b$length, wic = b$wic, meta = b$meta,
                                        grade = b$grade, weights = b$ni),
        "dat <- dat.bangertdrowns2004[complete.cases(dat.bangertdrowns2004[, c('length','wic','meta','grade')]), ]")
h <- dat.hackshaw1998
add_set("hackshaw1998", data.frame(yi = h$yi, vi = h$vi, year = h$year,
                                   design = as.character(h$design), weights = h$cases,
                                   stringsAsFactors = FALSE),
        "dat <- dat.hackshaw1998")

data_of <- function(df) {
  out <- list()
  for (nm in names(df)) out[[nm]] <- if (is.numeric(df[[nm]])) num(df[[nm]]) else df[[nm]]
  out
}

fit_rma <- function(df, mods, method, test = "z", btt = NULL, weights = FALSE, tau2 = NULL,
                    level = 95) {
  args <- list(yi = df$yi, vi = df$vi, mods = as.formula(mods), data = df, method = method,
               test = test, level = level, control = CTRL)
  if (!is.null(btt)) args$btt <- btt
  if (weights || method == "GENQ") args$weights <- df$weights
  if (!is.null(tau2)) args$tau2 <- tau2
  do.call(rma, args)
}

rcall <- function(sname, mods, method, test, btt = NULL, weights = FALSE, tau2 = NULL, level = 95) {
  sprintf("%s; res <- rma(yi, vi, mods=%s, data=dat, method='%s', test='%s', level=%s%s%s%s, %s)",
          sets[[sname]]$call, mods, method, test, level,
          if (!is.null(btt)) sprintf(", btt=c(%s)", paste(btt, collapse = ",")) else "",
          if (weights || method == "GENQ") ", weights=weights" else "",
          if (!is.null(tau2)) sprintf(", tau2=%s", tau2) else "", CTRL_S)
}

expected_of <- function(res) {
  exp <- list(
    k = res$k, p = res$p, parms = res$parms,
    estimate = num(res$beta), se = num(res$se), statistic = num(res$zval), p_value = num(res$pval),
    ci_lower = num(res$ci.lb), ci_upper = num(res$ci.ub), vcov = num(t(res$vb)),
    tau2 = num(res$tau2), tau2_se = num(res$se.tau2), i2 = num(res$I2), h2 = num(res$H2),
    r2 = if (is.null(res$R2)) NULL else num(res$R2),
    q = num(res$QE), q_df = res$k - res$p, q_p_value = num(res$QEp),
    qm = num(res$QM), qm_df = res$QMdf[1], qm_df2 = num(res$QMdf[2]), qm_p_value = num(res$QMp),
    btt = res$btt - 1, s2w = num(res$s2w)
  )
  fs <- fitstats(res)
  exp$loglik <- num(fs["logLik:", 1]); exp$deviance <- num(fs["deviance:", 1])
  exp$aic <- num(fs["AIC:", 1]); exp$bic <- num(fs["BIC:", 1]); exp$aicc <- num(fs["AICc:", 1])
  exp
}

cases <- list()
add <- function(x) if (!is.null(x)) cases[[length(cases) + 1]] <<- x

fit_case <- function(sname, mods, method, test = "z", btt = NULL, weights = FALSE, tau2 = NULL,
                     level = 95, ci_type = "QP", id_extra = "") {
  df <- sets[[sname]]$df
  res <- tryCatch(fit_rma(df, mods, method, test, btt, weights, tau2, level),
                  error = function(e) { message("skipped: ", sname, " ", mods, " ", method, ": ",
                                                conditionMessage(e)); NULL })
  if (is.null(res)) return(NULL)
  call <- rcall(sname, mods, method, test, btt, weights, tau2, level)
  exp <- expected_of(res)
  pyargs <- list(mods = mods, method = method, test = test, level = level / 100,
                 tau2_ci = ci_type)
  if (!is.null(btt)) pyargs$btt <- btt - 1
  if (weights || method == "GENQ") pyargs$use_weights <- TRUE
  if (!is.null(tau2)) pyargs$tau2 <- tau2
  if (!is.element(method, c("EE", "FE", "CE")) && is.null(tau2)) {
    ci <- confint(res, type = ci_type, control = CI_CTRL)$random
    exp$tau2_ci_lower <- num(ci["tau^2", "ci.lb"]); exp$tau2_ci_upper <- num(ci["tau^2", "ci.ub"])
    call <- paste0(call, sprintf("; confint(res, type='%s', control=list(tol=1e-12, tau2.max=1e6))", ci_type))
  }
  id <- sprintf("fit/%s/%s/%s/%s%s", sname, gsub(" ", "", mods), method, test, id_extra)
  case(id, call, data_of(df), pyargs, exp)
}

# ---- model fits: every estimator x z / knha on each model --------------------------------
specs <- list(
  list("bcg", "~ ablat"), list("bcg", "~ ablat + year"), list("bcg", "~ factor(alloc)"),
  list("bcg", "~ ablat * factor(alloc)"), list("bcg", "~ factor(alloc) - 1"),
  list("bcg", "~ ablat - 1"),
  list("raudenbush1985", "~ weeks"), list("raudenbush1985", "~ weeks + factor(setting)"),
  list("bangertdrowns2004", "~ length + wic + meta"),
  list("bangertdrowns2004", "~ factor(grade) + length"),
  list("hackshaw1998", "~ year")
)
for (s in specs) {
  for (m in c("REML", "ML", "DL", "PM", "HE", "SJ", "EB", "FE")) {
    for (tst in c("z", "knha")) add(fit_case(s[[1]], s[[2]], m, tst))
  }
}
# t and adhoc tests; the remaining estimators; weights; fixed tau^2; level; PL CIs; btt subsets.
for (s in specs[c(1, 2, 4, 7, 9)]) {
  for (m in c("REML", "DL")) for (tst in c("t", "adhoc")) add(fit_case(s[[1]], s[[2]], m, tst))
  for (m in c("HS", "HSk", "SJIT", "PMM", "GENQ")) add(fit_case(s[[1]], s[[2]], m, "z"))
  add(fit_case(s[[1]], s[[2]], "REML", "z", weights = TRUE, id_extra = "/weights"))
  add(fit_case(s[[1]], s[[2]], "REML", "knha", weights = TRUE, id_extra = "/weights"))
  add(fit_case(s[[1]], s[[2]], "FE", "z", weights = TRUE, id_extra = "/weights"))
  add(fit_case(s[[1]], s[[2]], "DL", "z", tau2 = 0.05, id_extra = "/tau2fixed"))
  add(fit_case(s[[1]], s[[2]], "REML", "z", level = 90, id_extra = "/level90"))
  for (m in c("REML", "ML")) add(fit_case(s[[1]], s[[2]], m, "z", ci_type = "PL", id_extra = "/PL"))
}
add(fit_case("bcg", "~ ablat * factor(alloc)", "REML", "z", btt = c(3, 4), id_extra = "/btt"))
add(fit_case("bcg", "~ ablat * factor(alloc)", "REML", "knha", btt = c(5, 6), id_extra = "/btt"))
add(fit_case("bcg", "~ ablat + year", "ML", "z", btt = 3, id_extra = "/btt"))
add(fit_case("bangertdrowns2004", "~ factor(grade) + length", "REML", "t", btt = 2:4, id_extra = "/btt"))

# ---- predict() at new moderator values, with prediction intervals ------------------------
pred_case <- function(sname, mods, method, test, newmods_r, newdata, pi_type = "default") {
  df <- sets[[sname]]$df
  res <- fit_rma(df, mods, method, test)
  p <- if (pi_type == "default") predict(res, newmods = newmods_r) else
    predict(res, newmods = newmods_r, pi.type = pi_type)
  call <- paste0(rcall(sname, mods, method, test), sprintf("; predict(res, newmods=%s%s)",
                 paste(deparse(newmods_r), collapse = ""),
                 if (pi_type == "default") "" else sprintf(", pi.type='%s'", pi_type)))
  exp <- list(pred = num(p$pred), se = num(p$se), ci_lower = num(p$ci.lb), ci_upper = num(p$ci.ub),
              pi_lower = if (is.null(p$pi.lb)) NULL else num(p$pi.lb),
              pi_upper = if (is.null(p$pi.ub)) NULL else num(p$pi.ub))
  case(sprintf("predict/%s/%s/%s/%s/%s", sname, gsub(" ", "", mods), method, test, pi_type), call,
       data_of(df), list(mods = mods, method = method, test = test, newdata = newdata,
                         pi_type = pi_type), exp)
}
lat <- c(10, 25.5, 40, 55)
for (m in c("REML", "DL", "FE")) for (tst in c("z", "knha")) {
  add(pred_case("bcg", "~ ablat", m, tst, lat, list(ablat = num(lat))))
}
for (pt in c("riley", "t", "simple")) add(pred_case("bcg", "~ ablat", "REML", "z", lat, list(ablat = num(lat)), pt))
add(pred_case("bcg", "~ ablat + year", "ML", "z", cbind(c(20, 50), c(1950, 1975)),
              list(ablat = num(c(20, 50)), year = num(c(1950, 1975)))))
add(pred_case("bcg", "~ ablat + factor(alloc)", "REML", "knha",
              cbind(c(20, 30, 50), c(1, 0, 0), c(0, 0, 1)),
              list(ablat = num(c(20, 30, 50)), alloc = c("random", "alternate", "systematic"))))
add(pred_case("raudenbush1985", "~ weeks", "REML", "z", c(0, 1, 3, 10),
              list(weeks = num(c(0, 1, 3, 10)))))
add(pred_case("hackshaw1998", "~ year", "PM", "t", c(1980, 1995), list(year = num(c(1980, 1995)))))

# ---- Wald tests: anova(res, btt=) and anova(res, X=L) -------------------------------------
wald_case <- function(sname, mods, method, test, btt = NULL, L = NULL) {
  df <- sets[[sname]]$df
  res <- fit_rma(df, mods, method, test)
  if (!is.null(btt)) {
    a <- anova(res, btt = btt)
    call <- paste0(rcall(sname, mods, method, test), sprintf("; anova(res, btt=c(%s))", paste(btt, collapse = ",")))
    exp <- list(qm = num(a$QM), qm_df = a$QMdf[1], qm_df2 = num(a$QMdf[2]), qm_p_value = num(a$QMp))
    args <- list(mods = mods, method = method, test = test, btt = btt - 1)
    id <- sprintf("wald/%s/%s/%s/%s/btt%s", sname, gsub(" ", "", mods), method, test, paste(btt, collapse = ""))
  } else {
    a <- anova(res, X = L)
    call <- paste0(rcall(sname, mods, method, test), sprintf("; anova(res, X=%s)", paste(deparse(L), collapse = "")))
    exp <- list(estimate = num(a$Xb), se = num(a$se), statistic = num(a$zval), p_value = num(a$pval),
                qm = num(a$QM), qm_df = a$QMdf[1], qm_df2 = num(a$QMdf[2]), qm_p_value = num(a$QMp))
    args <- list(mods = mods, method = method, test = test, L = lapply(seq_len(nrow(L)), function(i) num(L[i, ])))
    id <- sprintf("wald/%s/%s/%s/%s/L%d", sname, gsub(" ", "", mods), method, test, nrow(L))
  }
  case(id, call, data_of(df), args, exp)
}
add(wald_case("bcg", "~ ablat * factor(alloc)", "REML", "z", btt = c(3, 4)))
add(wald_case("bcg", "~ ablat * factor(alloc)", "REML", "knha", btt = c(5, 6)))
add(wald_case("bcg", "~ ablat * factor(alloc)", "ML", "z", btt = c(2, 5, 6)))
add(wald_case("bcg", "~ ablat + year", "DL", "t", btt = 3))
add(wald_case("bangertdrowns2004", "~ factor(grade) + length", "REML", "z", btt = 2:4))
add(wald_case("bcg", "~ factor(alloc)", "REML", "z", L = rbind(c(1, 1, 0), c(1, 0, 1), c(0, 1, -1))))
add(wald_case("bcg", "~ factor(alloc)", "REML", "knha", L = rbind(c(1, 1, 0), c(0, 1, -1))))
add(wald_case("bcg", "~ ablat", "FE", "z", L = rbind(c(1, 10), c(1, 50))))

# ---- likelihood-ratio tests: anova(full, reduced) ------------------------------------------
lrt_case <- function(sname, mods_f, method_f, mods_r, method_r) {
  df <- sets[[sname]]$df
  rf <- fit_rma(df, mods_f, method_f)
  rr <- fit_rma(df, mods_r, method_r)
  a <- anova(rf, rr)
  call <- sprintf("%s; full <- rma(yi, vi, mods=%s, data=dat, method='%s', %s); reduced <- rma(yi, vi, mods=%s, data=dat, method='%s', %s); anova(full, reduced)",
                  sets[[sname]]$call, mods_f, method_f, CTRL_S, mods_r, method_r, CTRL_S)
  fs <- function(x) list(loglik = num(x[["ll"]]), deviance = num(x[["dev"]]), aic = num(x[["AIC"]]),
                         bic = num(x[["BIC"]]), aicc = num(x[["AICc"]]))
  exp <- list(statistic = num(a$LRT), df = a$parms.f - a$parms.r, p_value = num(a$pval),
              r2 = num(a$R2), tau2_full = num(a$tau2.f), tau2_reduced = num(a$tau2.r),
              q_full = num(a$QE.f), q_reduced = num(a$QE.r),
              full = fs(a$fit.stats.f), reduced = fs(a$fit.stats.r))
  case(sprintf("lrt/%s/%s-%s/%s-%s", sname, gsub(" ", "", mods_f), method_f, gsub(" ", "", mods_r), method_r),
       call, data_of(df), list(full = list(mods = mods_f, method = method_f),
                               reduced = list(mods = mods_r, method = method_r)), exp)
}
add(lrt_case("bcg", "~ ablat + year", "ML", "~ ablat", "ML"))
add(lrt_case("bcg", "~ ablat * factor(alloc)", "ML", "~ ablat", "ML"))
add(lrt_case("bcg", "~ ablat", "ML", "~ 1", "ML"))
add(lrt_case("bcg", "~ ablat", "REML", "~ ablat", "FE"))
add(lrt_case("bcg", "~ ablat", "ML", "~ ablat", "FE"))
add(lrt_case("bcg", "~ ablat + year", "FE", "~ ablat", "FE"))
add(lrt_case("bangertdrowns2004", "~ factor(grade) + length", "ML", "~ length", "ML"))
add(lrt_case("raudenbush1985", "~ weeks + factor(setting)", "ML", "~ weeks", "ML"))

# ---- permutation tests ---------------------------------------------------------------------
perm_case <- function(sname, rows, mods, method, test, exact = TRUE, iter = 1000, seed = NULL) {
  df <- sets[[sname]]$df[rows, ]
  res <- if (mods == "~ 1") rma(df$yi, df$vi, method = method, test = test, control = CTRL) else
    fit_rma(df, mods, method, test)
  pt <- if (exact) permutest(res, exact = TRUE) else permutest(res, iter = iter, seed = seed)
  fitcall <- if (mods == "~ 1") sprintf("rma(yi, vi, data=dat, method='%s', test='%s', %s)", method, test, CTRL_S) else
    sprintf("rma(yi, vi, mods=%s, data=dat, method='%s', test='%s', %s)", mods, method, test, CTRL_S)
  call <- sprintf("%s; dat <- dat[c(%s), ]; res <- %s; permutest(res, %s)",
                  sets[[sname]]$call, paste(rows, collapse = ","), fitcall,
                  if (exact) "exact=TRUE" else sprintf("iter=%d, seed=%d", iter, seed))
  exp <- list(p_value = num(pt$pval), qm_p_value = num(pt$QMp), n_perm = nrow(pt$zval.perm),
              exact = exact, statistic = num(res$zval), qm = num(res$QM))
  case(sprintf("perm/%s/%s/%s/%s/%s", sname, gsub(" ", "", mods), method, test,
               if (exact) paste0("exact", length(rows)) else paste0("mc", iter)),
       call, data_of(df), list(mods = mods, method = method, test = test, exact = exact,
                               n_perm = iter), exp)
}
add(perm_case("bcg", 1:7, "~ ablat", "REML", "z"))
add(perm_case("bcg", 1:7, "~ ablat", "REML", "knha"))
add(perm_case("bcg", 1:7, "~ ablat", "DL", "z"))
add(perm_case("bcg", 1:7, "~ ablat", "FE", "z"))
add(perm_case("bcg", 1:11, "~ factor(alloc)", "REML", "z"))
add(perm_case("bcg", 1:8, "~ 1", "REML", "z"))
add(perm_case("hackshaw1998", 1:7, "~ year", "ML", "t"))
# Monte Carlo: metafor's own random permutations (seeded); Python draws its own, so only a
# binomial tolerance applies. The exact p-value of the same data is in the exact cases above.
add(perm_case("bcg", 1:13, "~ ablat", "REML", "z", exact = FALSE, iter = 5000, seed = 2026))
add(perm_case("bcg", 1:7, "~ ablat", "REML", "z", exact = FALSE, iter = 1000, seed = 7))

write_reference("metareg", cases)
