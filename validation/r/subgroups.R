# Reference values for acuevidence.subgroup_analysis.
# separate tau^2: each subgroup pooled alone, then rma(est, sei=se, method="FE") for Q_between.
# common tau^2: rma(yi, vi, mods = ~ factor(g)) omnibus test (QM) and ~ factor(g) - 1 estimates.
# Run from the repository root:  Rscript validation/generate_reference.R subgroups
source("validation/r/common.R")
CTRL <- list(threshold = 1e-12, maxiter = 10000, tol = 1e-12)

sets <- list()
d <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
sets$bcg_alloc <- list(yi = d$yi, vi = d$vi, g = as.character(dat.bcg$alloc),
                       call = "escalc('RR', ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg); g = alloc")
sets$raudenbush_tester <- list(yi = dat.raudenbush1985$yi, vi = dat.raudenbush1985$vi,
                               g = as.character(dat.raudenbush1985$tester),
                               call = "dat.raudenbush1985; g = tester")
sets$hackshaw_design <- list(yi = dat.hackshaw1998$yi, vi = dat.hackshaw1998$vi,
                             g = as.character(dat.hackshaw1998$design), call = "dat.hackshaw1998; g = design")
d <- escalc("ZCOR", ri = ri, ni = ni, data = dat.molloy2014)
sets$molloy_design <- list(yi = d$yi, vi = d$vi, g = as.character(dat.molloy2014$design),
                           call = "escalc('ZCOR', ri=ri, ni=ni, data=dat.molloy2014); g = design")

cases <- list()
for (sn in names(sets)) {
  s <- sets[[sn]]
  lv <- unique(s$g)
  for (method in c("REML", "DL", "FE", "PM")) {
    for (test in c("z", "knha")) {
      # separate tau^2
      fits <- lapply(lv, function(l) rma(s$yi, s$vi, subset = s$g == l, method = method, test = test, control = CTRL))
      est <- sapply(fits, function(f) c(f$beta)); se <- sapply(fits, function(f) f$se)
      qb <- rma(est, sei = se, method = "FE")
      cases[[length(cases) + 1]] <- case(
        sprintf("subgroups/%s/%s/%s/separate", sn, method, test),
        sprintf("lapply(levels, function(l) rma(yi, vi, subset=g==l, method='%s', test='%s', control=list(threshold=1e-12, tol=1e-12))); rma(est, sei=se, method='FE')  # %s", method, test, s$call),
        list(yi = num(s$yi), vi = num(s$vi), groups = s$g),
        list(method = method, test = test, tau2 = "separate"),
        list(groups = lv, estimate = num(est), se = num(se),
             ci_lower = num(sapply(fits, function(f) f$ci.lb)), ci_upper = num(sapply(fits, function(f) f$ci.ub)),
             tau2 = num(sapply(fits, function(f) f$tau2)), q_between = num(qb$QE), q_between_p_value = num(qb$QEp)))
      # common tau^2
      g <- factor(s$g, levels = lv)
      m1 <- rma(s$yi, s$vi, mods = ~ g, method = method, test = test, control = CTRL)
      m0 <- rma(s$yi, s$vi, mods = ~ g - 1, method = method, test = test, control = CTRL)
      cases[[length(cases) + 1]] <- case(
        sprintf("subgroups/%s/%s/%s/common", sn, method, test),
        sprintf("rma(yi, vi, mods=~g, method='%s', test='%s'); rma(yi, vi, mods=~g-1, ...)  # %s", method, test, s$call),
        list(yi = num(s$yi), vi = num(s$vi), groups = s$g),
        list(method = method, test = test, tau2 = "common"),
        list(groups = lv, estimate = num(m0$beta), se = num(m0$se), ci_lower = num(m0$ci.lb), ci_upper = num(m0$ci.ub),
             tau2 = num(m1$tau2), q_between = num(m1$QM), q_between_p_value = num(m1$QMp)))
    }
  }
}
write_reference("subgroups", cases)
