# Reference values for acuevidence.meta_analysis (metafor's rma.uni, confint, predict, blup).
# Run from the repository root:  Rscript validation/generate_reference.R rma
# Every case stores the data it was run on (yi, vi, weights), the Python arguments and the exact
# R call. Iterative estimators and root finders run at tight tolerances (see TIGHT in common.R),
# because metafor's defaults stop at about 1e-5.
source("validation/r/common.R")

datasets <- list()
add_data <- function(name, yi, vi, call, weights = NULL) {
  datasets[[name]] <<- list(yi = as.numeric(yi), vi = as.numeric(vi), call = call,
                            weights = if (is.null(weights)) NULL else as.numeric(weights))
}

d <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
add_data("bcg", d$yi, d$vi, "escalc('RR', ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)",
         weights = dat.bcg$tpos + dat.bcg$tneg + dat.bcg$cpos + dat.bcg$cneg)
d <- escalc("OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.lee2004)
add_data("lee2004", d$yi, d$vi, "escalc('OR', ai=ai, n1i=n1i, ci=ci, n2i=n2i, data=dat.lee2004)",
         weights = dat.lee2004$n1i + dat.lee2004$n2i)
d <- escalc("MD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i, data = dat.normand1999)
add_data("normand1999", d$yi, d$vi, "escalc('MD', m1i, sd1i, n1i, m2i, sd2i, n2i, data=dat.normand1999)",
         weights = dat.normand1999$n1i + dat.normand1999$n2i)
add_data("hackshaw1998", dat.hackshaw1998$yi, dat.hackshaw1998$vi, "dat.hackshaw1998[, c('yi','vi')]",
         weights = dat.hackshaw1998$cases)
add_data("raudenbush1985", dat.raudenbush1985$yi, dat.raudenbush1985$vi, "dat.raudenbush1985[, c('yi','vi')]",
         weights = dat.raudenbush1985$n1i + dat.raudenbush1985$n2i)
d <- escalc("ZCOR", ri = ri, ni = ni, data = dat.molloy2014)
add_data("molloy2014", d$yi, d$vi, "escalc('ZCOR', ri=ri, ni=ni, data=dat.molloy2014)", weights = dat.molloy2014$ni)
d <- escalc("RR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.li2007)
add_data("li2007", d$yi, d$vi, "escalc('RR', ai=ai, n1i=n1i, ci=ci, n2i=n2i, data=dat.li2007)",
         weights = dat.li2007$n1i + dat.li2007$n2i)
# Small and edge-case sets: k = 2, k = 3, homogeneous data (tau^2 = 0 for most estimators).
add_data("k2", c(0.2, 0.9), c(0.04, 0.09), "yi=c(0.2, 0.9), vi=c(0.04, 0.09)", weights = c(50, 30))
add_data("k3", c(-0.5, 0.1, 0.4), c(0.05, 0.02, 0.08), "yi=c(-0.5, 0.1, 0.4), vi=c(0.05, 0.02, 0.08)",
         weights = c(40, 90, 25))
add_data("homogeneous", c(0.30, 0.32, 0.29, 0.31, 0.30), c(0.01, 0.02, 0.015, 0.03, 0.02),
         "yi=c(0.30,0.32,0.29,0.31,0.30), vi=c(0.01,0.02,0.015,0.03,0.02)", weights = c(100, 50, 70, 30, 50))

ctrl <- "control=list(threshold=1e-12, maxiter=10000, tol=1e-12)"
CTRL <- list(threshold = 1e-12, maxiter = 10000, tol = 1e-12)

fit_case <- function(dname, method, test = "z", level = 95, tau2 = NULL, use_weights = FALSE,
                     ci_type = NULL, pi_type = NULL, blups = FALSE, id_extra = "") {
  ds <- datasets[[dname]]
  args <- list(yi = ds$yi, vi = ds$vi, method = method, test = test, level = level, control = CTRL)
  if (!is.null(tau2)) args$tau2 <- tau2
  if (use_weights || method == "GENQ") args$weights <- ds$weights
  res <- tryCatch(do.call(rma, args), error = function(e) NULL)
  if (is.null(res)) {
    # A few fixed-point iterations (DLIT) oscillate below 1e-10; loosen only those.
    args$control$threshold <- 1e-9
    res <- tryCatch(do.call(rma, args), error = function(e) NULL)
    if (is.null(res)) { message("skipped (no convergence in metafor): ", dname, " ", method, " ", test); return(NULL) }
    ctrl <- "control=list(threshold=1e-9, maxiter=10000, tol=1e-12)"
  }
  call <- sprintf("rma(yi, vi, method='%s', test='%s', level=%s%s%s, %s)  # data: %s",
                  method, test, level,
                  if (!is.null(tau2)) sprintf(", tau2=%s", tau2) else "",
                  if (!is.null(args$weights)) ", weights=w" else "", ctrl, ds$call)
  exp <- list(
    estimate = num(res$beta), se = num(res$se), statistic = num(res$zval), p_value = num(res$pval),
    ci_lower = num(res$ci.lb), ci_upper = num(res$ci.ub), tau2 = num(res$tau2),
    tau2_se = num(res$se.tau2), i2 = num(res$I2), h2 = num(res$H2), q = num(res$QE),
    q_p_value = num(res$QEp), k = res$k, s2w = num(res$s2w)
  )
  exp$loglik <- num(logLik(res))
  exp$aic <- num(AIC(res))
  exp$bic <- num(BIC(res))
  exp$aicc <- num(fitstats(res)["AICc:", 1])
  pred <- if (is.null(pi_type)) predict(res) else predict(res, pi.type = pi_type)
  exp$pi_lower <- num(pred$pi.lb)
  exp$pi_upper <- num(pred$pi.ub)
  if (is.null(pi_type)) pi_type <- "default" else call <- paste0(call, sprintf("; predict(res, pi.type='%s')", pi_type))
  if (!is.element(method, c("EE", "FE", "CE")) && is.null(tau2) && res$k > 1) {
    type <- if (is.null(ci_type)) "QP" else ci_type
    ci <- confint(res, type = type, control = list(tol = 1e-12, tau2.max = 1e6))
    call <- paste0(call, sprintf("; confint(res, type='%s', control=list(tol=1e-12, tau2.max=1e6))", type))
    r <- ci$random
    exp$tau2_ci_lower <- num(r["tau^2", "ci.lb"]); exp$tau2_ci_upper <- num(r["tau^2", "ci.ub"])
    exp$tau_ci_lower <- num(r["tau", "ci.lb"]); exp$tau_ci_upper <- num(r["tau", "ci.ub"])
    exp$i2_ci_lower <- num(r["I^2(%)", "ci.lb"]); exp$i2_ci_upper <- num(r["I^2(%)", "ci.ub"])
    exp$h2_ci_lower <- num(r["H^2", "ci.lb"]); exp$h2_ci_upper <- num(r["H^2", "ci.ub"])
  }
  if (blups) {
    b <- blup(res)
    exp$blup <- num(b$pred); exp$blup_se <- num(b$se)
    exp$blup_pi_lower <- num(b$pi.lb); exp$blup_pi_upper <- num(b$pi.ub)
    call <- paste0(call, "; blup(res)")
  }
  pyargs <- list(method = method, test = test, level = level / 100, pi_type = pi_type,
                 tau2_ci = if (is.null(ci_type)) "QP" else ci_type)
  if (!is.null(tau2)) pyargs$tau2 <- tau2
  if (!is.null(args$weights)) pyargs$use_weights <- TRUE
  id <- sprintf("rma/%s/%s/%s%s", dname, method, test, id_extra)
  case(id, call, list(yi = num(ds$yi), vi = num(ds$vi), weights = if (is.null(ds$weights)) NULL else num(ds$weights)),
       pyargs, exp)
}

methods <- c("EE", "FE", "CE", "DL", "DLIT", "HE", "HS", "HSk", "SJ", "SJIT", "ML", "REML", "EB", "PM", "PMM", "GENQ")
cases <- list()
add <- function(x) if (!is.null(x)) cases[[length(cases) + 1]] <<- x

for (dn in names(datasets)) {
  for (m in methods) {
    for (tst in c("z", "knha")) add(fit_case(dn, m, tst, blups = (m %in% c("REML", "DL") && tst == "z")))
  }
  for (m in c("REML", "DL", "PM")) for (tst in c("t", "adhoc")) add(fit_case(dn, m, tst))
}
# Profile-likelihood CIs for ML and REML.
for (dn in c("bcg", "lee2004", "normand1999", "raudenbush1985", "molloy2014", "k3", "homogeneous")) {
  for (m in c("ML", "REML")) add(fit_case(dn, m, "z", ci_type = "PL", id_extra = "/PL"))
}
# Prediction-interval variants, other levels, fixed tau^2 and custom weights.
for (dn in c("bcg", "lee2004", "hackshaw1998", "k3")) {
  for (pt in c("riley", "t", "simple")) add(fit_case(dn, "REML", "z", pi_type = pt, id_extra = paste0("/pi-", pt)))
  add(fit_case(dn, "REML", "knha", pi_type = "riley", id_extra = "/pi-riley"))
  add(fit_case(dn, "REML", "z", level = 90, id_extra = "/level90"))
  add(fit_case(dn, "DL", "z", tau2 = 0.05, id_extra = "/tau2fixed"))
  add(fit_case(dn, "REML", "z", use_weights = TRUE, id_extra = "/weights"))
  add(fit_case(dn, "REML", "knha", use_weights = TRUE, id_extra = "/weights"))
}
# k = 1: metafor sets tau^2 = 0 and returns the study's estimate.
datasets[["k1"]] <- list(yi = 0.4, vi = 0.05, call = "yi=0.4, vi=0.05", weights = NULL)
for (m in c("REML", "DL", "FE")) add(fit_case("k1", m, "z"))

write_reference("rma", cases)
