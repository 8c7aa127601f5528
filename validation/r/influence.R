# Reference values for acuevidence.influence: metafor's leave1out, influence (rstudent, dffits,
# cook.d, cov.r, tau2.del, QE.del, hat, weight, dfbetas, the influential flag), cumul, gosh
# (exact enumeration for k = 6 to 9) and the x/y coordinates returned by baujat.
# Run from the repository root:  Rscript validation/generate_reference.R influence
source("validation/r/common.R")
CTRL <- list(threshold = 1e-12, maxiter = 10000, tol = 1e-12, tau2.max = 1e6)
ctrl <- "control=list(threshold=1e-12, maxiter=10000, tol=1e-12, tau2.max=1e6)"

sets <- list()
add <- function(name, yi, vi, year, call) {
  sets[[name]] <<- list(yi = as.numeric(yi), vi = as.numeric(vi), year = as.numeric(year), call = call)
}
d <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
add("bcg", d$yi, d$vi, dat.bcg$year, "escalc('RR', ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)")
d <- escalc("MD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i, data = dat.normand1999)
add("normand1999", d$yi, d$vi, dat.normand1999$n1i + dat.normand1999$n2i,
    "escalc('MD', m1i, sd1i, n1i, m2i, sd2i, n2i, data=dat.normand1999); order key = n1i+n2i")
add("raudenbush1985", dat.raudenbush1985$yi, dat.raudenbush1985$vi, dat.raudenbush1985$year, "dat.raudenbush1985")
add("hackshaw1998", dat.hackshaw1998$yi, dat.hackshaw1998$vi, dat.hackshaw1998$year, "dat.hackshaw1998")
d <- escalc("IRR", x1i = x1i, t1i = t1i, x2i = x2i, t2i = t2i, data = dat.hart1999)
add("hart1999", d$yi, d$vi, dat.hart1999$year, "escalc('IRR', x1i=x1i, t1i=t1i, x2i=x2i, t2i=t2i, data=dat.hart1999)")
d <- escalc("OR", ai = ai, n1i = n1i, ci = ci, n2i = n2i, data = dat.lee2004)
add("lee2004", d$yi, d$vi, dat.lee2004$year, "escalc('OR', ai=ai, n1i=n1i, ci=ci, n2i=n2i, data=dat.lee2004)")

fit <- function(s, method, test, subset = NULL) {
  yi <- s$yi; vi <- s$vi
  if (!is.null(subset)) { yi <- yi[subset]; vi <- vi[subset] }
  rma(yi, vi, method = method, test = test, control = CTRL)
}
dat <- function(s, subset = NULL) {
  if (is.null(subset)) subset <- seq_along(s$yi)
  list(yi = num(s$yi[subset]), vi = num(s$vi[subset]), order = num(s$year[subset]))
}
cases <- list()
push <- function(x) cases[[length(cases) + 1]] <<- x
models <- list(c("REML", "z"), c("DL", "knha"), c("FE", "z"), c("PM", "t"))

# ---- leave1out and influence ------------------------------------------------------------------
for (sn in c("bcg", "normand1999", "raudenbush1985", "lee2004")) {
  s <- sets[[sn]]
  for (m in models) {
    res <- fit(s, m[1], m[2])
    l1 <- leave1out(res)
    tau2 <- if (is.null(l1$tau2)) rep(0, length(l1$estimate)) else l1$tau2
    stat <- if (is.null(l1$zval)) l1$tval else l1$zval
    push(case(sprintf("leave1out/%s/%s/%s", sn, m[1], m[2]),
              sprintf("leave1out(rma(yi, vi, method='%s', test='%s', %s))  # %s", m[1], m[2], ctrl, s$call),
              dat(s), list(method = m[1], test = m[2]),
              list(estimate = num(l1$estimate), se = num(l1$se), statistic = num(stat), p_value = num(l1$pval),
                   ci_lower = num(l1$ci.lb), ci_upper = num(l1$ci.ub), q = num(l1$Q), q_p_value = num(l1$Qp),
                   tau2 = num(tau2), i2 = num(l1$I2), h2 = num(l1$H2))))
    inf <- influence(res)
    push(case(sprintf("influence/%s/%s/%s", sn, m[1], m[2]),
              sprintf("influence(rma(yi, vi, method='%s', test='%s', %s))  # %s", m[1], m[2], ctrl, s$call),
              dat(s), list(method = m[1], test = m[2]),
              list(rstudent = num(inf$inf$rstudent), dffits = num(inf$inf$dffits), cooks_distance = num(inf$inf$cook.d),
                   cov_ratio = num(inf$inf$cov.r), tau2_deleted = num(inf$inf$tau2.del), q_deleted = num(inf$inf$QE.del),
                   hat = num(inf$inf$hat), weight = num(inf$inf$weight), dfbetas = num(inf$dfbs$intrcpt),
                   influential = as.logical(inf$is.infl))))
  }
}

# ---- cumul --------------------------------------------------------------------------------------
for (sn in c("bcg", "raudenbush1985", "hackshaw1998", "normand1999")) {
  s <- sets[[sn]]
  for (m in list(c("REML", "z"), c("DL", "z"), c("FE", "knha"), c("PM", "knha"))) {
    for (decreasing in c(FALSE, TRUE)) {
      if (decreasing && m[1] != "REML") next
      res <- fit(s, m[1], m[2])
      cu <- cumul(res, order = s$year, decreasing = decreasing)
      tau2 <- if (is.null(cu$tau2)) rep(0, length(cu$estimate)) else cu$tau2
      stat <- if (is.null(cu$zval)) cu$tval else cu$zval
      push(case(sprintf("cumul/%s/%s/%s%s", sn, m[1], m[2], if (decreasing) "/decreasing" else ""),
                sprintf("cumul(rma(yi, vi, method='%s', test='%s', %s), order=year%s)  # %s", m[1], m[2], ctrl,
                        if (decreasing) ", decreasing=TRUE" else "", s$call),
                dat(s), list(method = m[1], test = m[2], decreasing = decreasing),
                list(order = num(cu$data$year), labels = as.character(cu$slab),
                     estimate = num(cu$estimate), se = num(cu$se), statistic = num(stat), p_value = num(cu$pvals),
                     ci_lower = num(cu$ci.lb), ci_upper = num(cu$ci.ub), q = num(cu$Q), q_p_value = num(cu$Qp),
                     tau2 = num(tau2), i2 = num(cu$I2), h2 = num(cu$H2))))
    }
  }
}

# ---- gosh (all subsets) -------------------------------------------------------------------------
gosh_sets <- list(list(set = "hart1999", subset = NULL), list(set = "normand1999", subset = NULL),
                  list(set = "bcg", subset = 1:8), list(set = "raudenbush1985", subset = 1:7))
for (g in gosh_sets) {
  s <- sets[[g$set]]
  for (method in c("FE", "DL", "REML", "PM")) {
    if (method == "PM" && g$set != "hart1999") next
    res <- fit(s, method, "z", g$subset)
    go <- gosh(res, progbar = FALSE)
    tau2 <- if (is.null(go$res$tau2)) rep(0, nrow(go$res)) else go$res$tau2
    push(case(sprintf("gosh/%s%s/%s", g$set, if (is.null(g$subset)) "" else paste0("-first", max(g$subset)), method),
              sprintf("gosh(rma(yi, vi, method='%s', %s))  # %s%s", method, ctrl, s$call,
                      if (is.null(g$subset)) "" else sprintf("; studies 1:%d", max(g$subset))),
              dat(s, g$subset), list(method = method),
              list(incl = unname(apply(go$incl, 1, function(r) sum(2^(which(r) - 1)))),
                   k = num(go$res$k), q = num(go$res$QE), i2 = num(go$res$I2), h2 = num(go$res$H2),
                   tau2 = num(tau2), estimate = num(go$res$estimate))))
  }
}

# ---- baujat -------------------------------------------------------------------------------------
pdf(NULL)
for (sn in c("bcg", "normand1999", "raudenbush1985", "hart1999")) {
  s <- sets[[sn]]
  for (m in list(c("REML", "z"), c("FE", "z"), c("DL", "knha"))) {
    res <- fit(s, m[1], m[2])
    b <- baujat(res)
    push(case(sprintf("baujat/%s/%s/%s", sn, m[1], m[2]),
              sprintf("baujat(rma(yi, vi, method='%s', test='%s', %s))  # %s", m[1], m[2], ctrl, s$call),
              dat(s), list(method = m[1], test = m[2]),
              list(q_contribution = num(b$x), influence = num(b$y))))
  }
}
invisible(dev.off())

write_reference("influence", cases)
