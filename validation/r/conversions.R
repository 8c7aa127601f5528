# Reference values for acuevidence.conversions.
# Run from the repository root:   Rscript validation/generate_reference.R conversions
#
# The installed metafor (Debian's 3.8-1) has neither conv.wald() nor conv.fivenum() (both came
# with metafor 4.x). Two kinds of cases therefore:
#   source = "metafor": the input is something metafor 3.8-1 computed (escalc/summary/rma/predict
#            confidence intervals, p-values, test statistics, sampling variances) and the expected
#            value is the metafor quantity it must give back (SE, SD, correlation). These compare
#            the Python functions with metafor itself.
#   source = "formula": metafor lacks the function; the expected value is computed here from the
#            published formula, written out in the case's `call` string and below. For the
#            median-based methods these R functions were written from the papers (Hozo 2005,
#            Walter & Yao 2007, Wan 2014, Bland 2015, Luo 2018, Shi 2020, Shi/Tong 2020, Shi 2023)
#            following the conventions of metafor 4.x's conv.fivenum (method names, the n >= 5
#            rule, the skewness-test constants, the log-normal adjustments). When this file was
#            written, every median case was also recomputed ad hoc with the conv.fivenum() code of
#            metafor's GitHub repository (commit 83c0276; closed-form methods, loaded into the
#            metafor 3.8-1 namespace, not kept here): agreement to 1e-12 relative, except
#            walter2007 (9e-10: metafor integrates with R's default tolerance, this file with 1e-12).

source("validation/r/common.R", local = environment())

cases <- list()
add <- function(...) cases[[length(cases) + 1L]] <<- case(...)
cnum <- function(x) num(as.numeric(x))

# ---------------------------------------------------------------------------------------------
# 1. SEs and SDs, checked against metafor 3.8-1 quantities

bcg <- escalc(measure = "RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
bcg.s <- summary(bcg)
add("wald_ci_bcg_logrr", "summary(escalc('RR', data=dat.bcg)) -> se_from_ci(ci.lb, ci.ub) vs sei",
    list(lower = cnum(bcg.s$ci.lb), upper = cnum(bcg.s$ci.ub)),
    list(fn = "se_from_ci", source = "metafor"), list(se = cnum(bcg.s$sei)))

bcg.s90 <- summary(bcg, level = 90)
add("wald_ci_bcg_logrr_level90", "summary(escalc('RR', data=dat.bcg), level=90) -> se_from_ci(level=0.90)",
    list(lower = cnum(bcg.s90$ci.lb), upper = cnum(bcg.s90$ci.ub)),
    list(fn = "se_from_ci", source = "metafor", level = 0.90), list(se = cnum(bcg.s90$sei)))

bcg.se <- summary(bcg, transf = exp)
add("wald_ci_bcg_rr_log_scale", "summary(escalc('RR', data=dat.bcg), transf=exp) -> se_from_ci(exp bounds, log_scale=True, estimate=exp(yi))",
    list(lower = cnum(bcg.se$ci.lb), upper = cnum(bcg.se$ci.ub), estimate = cnum(exp(bcg$yi))),
    list(fn = "se_from_ci", source = "metafor", log_scale = TRUE), list(se = cnum(bcg.s$sei)))

add("wald_p_bcg", "summary(escalc('RR', data=dat.bcg)) -> se_from_p(yi, pval) vs sei",
    list(estimate = cnum(bcg.s$yi), p_value = cnum(bcg.s$pval)),
    list(fn = "se_from_p", source = "metafor"), list(se = cnum(bcg.s$sei)))

add("wald_z_bcg", "summary(escalc('RR', data=dat.bcg)) -> se_from_z(yi, zi) vs sei",
    list(estimate = cnum(bcg.s$yi), z = cnum(bcg.s$zi)),
    list(fn = "se_from_z", source = "metafor"), list(se = cnum(bcg.s$sei)))

nor <- escalc(measure = "MD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i,
              data = dat.normand1999)
nor.s <- summary(nor)
add("wald_ci_normand_md", "summary(escalc('MD', data=dat.normand1999)) -> se_from_ci(ci.lb, ci.ub) vs sei",
    list(lower = cnum(nor.s$ci.lb), upper = cnum(nor.s$ci.ub)),
    list(fn = "se_from_ci", source = "metafor"), list(se = cnum(nor.s$sei)))
add("wald_p_normand_md", "summary(escalc('MD', data=dat.normand1999)) -> se_from_p(yi, pval) vs sei",
    list(estimate = cnum(nor.s$yi), p_value = cnum(nor.s$pval)),
    list(fn = "se_from_p", source = "metafor"), list(se = cnum(nor.s$sei)))

# one-study-at-a-time t-based intervals: rma(test="t") uses qt(., k - 1)
res.t <- rma(yi, vi, data = bcg, method = "REML", test = "t", control = TIGHT)
add("wald_ci_rma_t", "res <- rma(yi, vi, data=bcg, test='t'); se_from_ci(res$ci.lb, res$ci.ub, df=res$k-1) vs res$se",
    list(lower = cnum(res.t$ci.lb), upper = cnum(res.t$ci.ub)),
    list(fn = "se_from_ci", source = "metafor", df = res.t$k - 1), list(se = cnum(res.t$se)))
add("wald_p_rma_t", "res <- rma(yi, vi, data=bcg, test='t'); se_from_p(res$b, res$pval, df=res$k-1) vs res$se",
    list(estimate = cnum(res.t$b), p_value = cnum(res.t$pval)),
    list(fn = "se_from_p", source = "metafor", df = res.t$k - 1), list(se = cnum(res.t$se)))
add("wald_t_rma_t", "res <- rma(yi, vi, data=bcg, test='t'); se_from_t(res$b, res$zval) vs res$se",
    list(estimate = cnum(res.t$b), t = cnum(res.t$zval)),
    list(fn = "se_from_t", source = "metafor"), list(se = cnum(res.t$se)))
pred.t <- predict(res.t, transf = exp)
add("wald_ci_rma_t_exp", "predict(rma(yi, vi, data=bcg, test='t'), transf=exp) -> se_from_ci(log_scale=True, df=k-1) vs res$se",
    list(lower = cnum(pred.t$ci.lb), upper = cnum(pred.t$ci.ub)),
    list(fn = "se_from_ci", source = "metafor", log_scale = TRUE, df = res.t$k - 1),
    list(se = cnum(res.t$se)))
res.z90 <- rma(yi, vi, data = bcg, method = "DL", level = 90)
add("wald_ci_rma_dl_level90", "res <- rma(yi, vi, data=bcg, method='DL', level=90); se_from_ci(res$ci.lb, res$ci.ub, level=90) vs res$se",
    list(lower = cnum(res.z90$ci.lb), upper = cnum(res.z90$ci.ub)),
    list(fn = "se_from_ci", source = "metafor", level = 90), list(se = cnum(res.z90$se)))

mn <- escalc(measure = "MN", mi = m1i, sdi = sd1i, ni = n1i, data = dat.normand1999)
mn.s <- summary(mn)
add("sd_from_se_mn", "escalc('MN', mi=m1i, sdi=sd1i, ni=n1i, data=dat.normand1999) -> sd_from_se(sqrt(vi), n1i) vs sd1i",
    list(se = cnum(sqrt(mn$vi)), n = cnum(dat.normand1999$n1i)),
    list(fn = "sd_from_se", source = "metafor"), list(sd = cnum(dat.normand1999$sd1i)))
add("sd_from_ci_mn_normal", "summary(escalc('MN', ..., data=dat.normand1999)) -> sd_from_ci(ci.lb, ci.ub, n1i, small_sample=0) vs sd1i",
    list(lower = cnum(mn.s$ci.lb), upper = cnum(mn.s$ci.ub), n = cnum(dat.normand1999$n1i)),
    list(fn = "sd_from_ci", source = "metafor", small_sample = 0), list(sd = cnum(dat.normand1999$sd1i)))

ho <- escalc(measure = "MD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i,
             data = dat.normand1999, vtype = "HO")
sdp <- with(dat.normand1999, sqrt(((n1i - 1) * sd1i^2 + (n2i - 1) * sd2i^2) / (n1i + n2i - 2)))
add("sd_from_se_difference_md_ho", "escalc('MD', ..., data=dat.normand1999, vtype='HO') -> sd_from_se_difference(sqrt(vi), n1i, n2i) vs pooled SD sqrt(((n1-1)sd1^2+(n2-1)sd2^2)/(n1+n2-2))",
    list(se = cnum(sqrt(ho$vi)), n1 = cnum(dat.normand1999$n1i), n2 = cnum(dat.normand1999$n2i)),
    list(fn = "sd_from_se_difference", source = "metafor"), list(sd = cnum(sdp)))

# change scores: escalc('MC') has vi = (sd1^2 + sd2^2 - 2 ri sd1 sd2) / ni
chg <- data.frame(m1i = c(10.2, 25.0, 5.5, 40.1, 12.0, 8.8, 30.0),
                  m2i = c(8.1, 20.3, 5.0, 33.3, 12.5, 4.1, 29.0),
                  sd1i = c(2.1, 6.0, 1.2, 9.9, 3.0, 2.5, 4.0),
                  sd2i = c(2.5, 5.1, 1.9, 12.4, 3.0, 3.5, 8.0),
                  ni = c(20, 45, 12, 150, 30, 64, 9),
                  ri = c(0.5, 0.8, 0.2, 0.65, 1, -0.3, 0))
mc <- escalc(measure = "MC", m1i = m1i, m2i = m2i, sd1i = sd1i, sd2i = sd2i, ni = ni, ri = ri, data = chg)
sdc <- sqrt(mc$vi * chg$ni)
add("sd_change_mc", "escalc('MC', m1i, m2i, sd1i, sd2i, ni, ri) -> sd_change(sd1i, sd2i, ri) vs sqrt(vi * ni)",
    list(sd_baseline = cnum(chg$sd1i), sd_final = cnum(chg$sd2i), corr = cnum(chg$ri)),
    list(fn = "sd_change", source = "metafor"), list(sd = cnum(sdc)))
add("corr_from_sds_mc", "escalc('MC', m1i, m2i, sd1i, sd2i, ni, ri) -> corr_from_sds(sd1i, sd2i, sqrt(vi * ni)) vs ri",
    list(sd_baseline = cnum(chg$sd1i), sd_final = cnum(chg$sd2i), sd_change = cnum(sdc)),
    list(fn = "corr_from_sds", source = "metafor"), list(corr = cnum(chg$ri)))

# ---------------------------------------------------------------------------------------------
# 2. SEs and SDs from published formulas (not in metafor)

ci <- data.frame(lower = c(1.2, -3.4, 10.0, 0.05, 55.1), upper = c(4.8, 0.2, 14.5, 0.31, 61.9),
                 n = c(8, 30, 59, 60, 400), df = c(7, 29, 58, 59, 399))
crit_t <- qt(0.975, ci$n - 1)
crit_z <- qnorm(0.975)
add("sd_from_ci_handbook", "formula (Cochrane Handbook 6.5.2.2): sd = sqrt(n) * (upper - lower) / (2 * crit), crit = qt(0.975, n - 1) if n < 60 else qnorm(0.975)",
    list(lower = cnum(ci$lower), upper = cnum(ci$upper), n = cnum(ci$n)),
    list(fn = "sd_from_ci", source = "formula"),
    list(sd = cnum(sqrt(ci$n) * (ci$upper - ci$lower) / (2 * ifelse(ci$n < 60, crit_t, crit_z)))))
add("sd_from_ci_df_level90", "formula: sd = sqrt(n) * (upper - lower) / (2 * qt(0.95, df))",
    list(lower = cnum(ci$lower), upper = cnum(ci$upper), n = cnum(ci$n), df = cnum(ci$df)),
    list(fn = "sd_from_ci", source = "formula", level = 0.90),
    list(sd = cnum(sqrt(ci$n) * (ci$upper - ci$lower) / (2 * qt(0.95, ci$df)))))
add("se_from_ci_t_df", "formula: se = (upper - lower) / (2 * qt(0.975, df))",
    list(lower = cnum(ci$lower), upper = cnum(ci$upper), df = cnum(ci$df)),
    list(fn = "se_from_ci", source = "formula"),
    list(se = cnum((ci$upper - ci$lower) / (2 * qt(0.975, ci$df)))))
add("se_from_ci_level99", "formula: se = (upper - lower) / (2 * qnorm(0.995))",
    list(lower = cnum(ci$lower), upper = cnum(ci$upper)),
    list(fn = "se_from_ci", source = "formula", level = 0.99),
    list(se = cnum((ci$upper - ci$lower) / (2 * qnorm(0.995)))))

hs <- dat.hackshaw1998
add("se_from_ci_hackshaw_or", "formula on dat.hackshaw1998 (reported ORs and 95% CIs): se = (log(or.ub) - log(or.lb)) / (2 * qnorm(0.975))",
    list(lower = cnum(hs$or.lb), upper = cnum(hs$or.ub)),
    list(fn = "se_from_ci", source = "formula", log_scale = TRUE),
    list(se = cnum((log(hs$or.ub) - log(hs$or.lb)) / (2 * qnorm(0.975)))))

pv <- data.frame(est = c(0.42, -1.3, 2.5, -0.08, 15.2), p = c(0.03, 0.0004, 0.2, 0.81, 0.049),
                 df = c(10, 25, 4, 120, 33))
add("se_from_p_one_sided", "formula: se = |estimate / qnorm(1 - p)| (one-sided p)",
    list(estimate = cnum(pv$est), p_value = cnum(pv$p)),
    list(fn = "se_from_p", source = "formula", two_sided = FALSE),
    list(se = cnum(abs(pv$est / qnorm(pv$p, lower.tail = FALSE)))))
add("se_from_p_t_df", "formula: se = |estimate / qt(1 - p/2, df)|",
    list(estimate = cnum(pv$est), p_value = cnum(pv$p), df = cnum(pv$df)),
    list(fn = "se_from_p", source = "formula"),
    list(se = cnum(abs(pv$est / qt(pv$p / 2, pv$df, lower.tail = FALSE)))))
add("se_from_p_t_one_sided", "formula: se = |estimate / qt(1 - p, df)| (one-sided p)",
    list(estimate = cnum(pv$est), p_value = cnum(pv$p), df = cnum(pv$df)),
    list(fn = "se_from_p", source = "formula", two_sided = FALSE),
    list(se = cnum(abs(pv$est / qt(pv$p, pv$df, lower.tail = FALSE)))))

sdset <- data.frame(sb = c(10, 4.2, 0, 7.5, 3, 12), sf = c(10, 5.9, 2.2, 7.5, 9, 11),
                    r = c(1, 0.35, 0.7, -1, 0, 0.99))
add("sd_change_formula", "formula (Cochrane Handbook 6.5.2.8): sd_change = sqrt(sb^2 + sf^2 - 2 r sb sf)",
    list(sd_baseline = cnum(sdset$sb), sd_final = cnum(sdset$sf), corr = cnum(sdset$r)),
    list(fn = "sd_change", source = "formula"),
    list(sd = cnum(sqrt(pmax(0, sdset$sb^2 + sdset$sf^2 - 2 * sdset$r * sdset$sb * sdset$sf)))))
cs <- data.frame(sb = c(10, 4.2, 7.5, 3, 12), sf = c(12, 5.9, 7.5, 9, 11), sc = c(5, 5.0, 15, 7, 1.2))
add("corr_from_sds_formula", "formula (Cochrane Handbook 6.5.2.8): corr = (sb^2 + sf^2 - sc^2) / (2 sb sf)",
    list(sd_baseline = cnum(cs$sb), sd_final = cnum(cs$sf), sd_change = cnum(cs$sc)),
    list(fn = "corr_from_sds", source = "formula"),
    list(corr = cnum((cs$sb^2 + cs$sf^2 - cs$sc^2) / (2 * cs$sb * cs$sf))))

# ---------------------------------------------------------------------------------------------
# 3. Means and SDs from medians (formulas; metafor 3.8-1 has no conv.fivenum)

xi <- function(n) 2 * qnorm((n - 0.375) / (n + 0.25))         # Wan et al. (2014) eq. (9)
eta <- function(n) 2 * qnorm((0.75 * n - 0.125) / (n + 0.25))  # Wan et al. (2014) eq. (16)
erange <- function(n) 2 * integrate(function(x) 1 - pnorm(x)^n - pnorm(-x)^n, 0, Inf,
                                    rel.tol = 1e-12, subdivisions = 1000L)$value  # Walter & Yao

# The formulas, written out; each case's `call` quotes the ones it uses.
FORMULA <- list(
  common = paste("S1 = (a, m, b), S2 = (q1, m, q3), S3 = (a, q1, m, q3, b); xi(n) = 2 qnorm((n - 0.375)/(n + 0.25)),",
                 "eta(n) = 2 qnorm((0.75 n - 0.125)/(n + 0.25)); rows with n < 5 are left out (NA)."),
  luo = paste("mean (Luo et al. 2018): S1 w = 4/(4 + n^0.75), w (a + b)/2 + (1 - w) m; S2 w = 0.7 + 0.39/n,",
              "w (q1 + q3)/2 + (1 - w) m; S3 w1 = 2.2/(2.2 + n^0.75), w2 = 0.7 - 0.72/n^0.55,",
              "w1 (a + b)/2 + w2 (q1 + q3)/2 + (1 - w1 - w2) m."),
  wan.mean = "mean (Wan et al. 2014): S1 (a + 2m + b)/4, S2 (q1 + m + q3)/3, S3 (a + 2q1 + 2m + 2q3 + b)/8.",
  bland.mean = "mean (Bland 2015, S3 only): (a + 2q1 + 2m + 2q3 + b)/8.",
  hozo.mean = "mean (Hozo et al. 2005, S1 only): (a + 2m + b)/4 if n <= 25, else m.",
  walter.mean = "mean (Walter & Yao 2007, S1 only): m.",
  wan.shi.sd = paste("sd (Wan et al. 2014 in S1/S2, Shi et al. 2020 in S3): S1 (b - a)/xi/sqrt(z1), S2 (q3 - q1)/eta/sqrt(z2),",
                     "S3 w = 1/(1 + 0.07 n^0.6), (w (b - a)/xi + (1 - w)(q3 - q1)/eta)/sqrt(z3); z = 1 for normal data."),
  wan.sd = "sd (Wan et al. 2014): S1 (b - a)/xi, S2 (q3 - q1)/eta, S3 ((b - a)/xi + (q3 - q1)/eta)/2.",
  shi.sd = "sd (Shi et al. 2020, S3 only): w = 1/(1 + 0.07 n^0.6), w (b - a)/xi + (1 - w)(q3 - q1)/eta.",
  hozo.sd = paste("sd (Hozo et al. 2005, S1 only): sqrt(((a - 2m + b)^2/4 + (b - a)^2)/12) if n <= 15,",
                  "(b - a)/4 if n <= 70, else (b - a)/6."),
  bland.sd = paste("sd (Bland 2015, S3 only): sqrt((a^2 + 2q1^2 + 2m^2 + 2q3^2 + b^2)/16 + (a q1 + q1 m + m q3 + q3 b)/8",
                   "- (a + 2q1 + 2m + 2q3 + b)^2/64)."),
  walter.sd = paste("sd (Walter & Yao 2007, S1 only): (b - a)/E[R_n], E[R_n] = 2 * integrate(1 - pnorm(x)^n - pnorm(-x)^n,",
                    "0, Inf, rel.tol = 1e-12), the expected range of n standard normal values."),
  skew = paste("skewness (Shi et al. 2023): S1 T = |a + b - 2m|/(b - a), crit 1/log(n + 9) + 2.5/(n + 1); S2 T =",
               "|q1 + q3 - 2m|/(q3 - q1), crit 2.65/sqrt(n) - 6/n^2; S3 T = max(2.65 log(0.6 n)/sqrt(n) T_S1, T_S2),",
               "crit 3/sqrt(n) - 40/n^3; skewed if T >= crit (then NA when test = TRUE)."),
  lnorm = paste("log-normal rows (Shi, Tong, Wang & Genton 2020): the values are logged; z1 = 1.01 + 0.25/log(n)^2,",
                "z2 = 1 + 1.58/n, z3 = 1 + 0.28/log(n)^2."),
  transf = paste("back-transformation: mean = exp(mu + s^2/2)/phi, sd = sqrt(exp(2mu + 2s^2)/phia - exp(2mu + s^2)/phib),",
                 "phi. = 1 + c1 s^2/n + c2 s4/n with (c1, c2) = S1 (0.565, 0.37), (2.26, 5.92), (2.26, 1.48),",
                 "s4 = ((b - a)/xi)^4/(1 + 2.23/log(n)^2); S2 (0.57, 0.75), (2.28, 12), (2.28, 3),",
                 "s4 = ((q3 - q1)/eta)^4/(1 + 19.2/n^1.2); S3 (0.405, 0.315), (1.62, 5.04), (1.62, 1.26),",
                 "s4 = (w (b - a)/xi + (1 - w)(q3 - q1)/eta)^4/(1 + 3.93/n).")
)
formula_text <- function(mm, sm, lnorm, transf) {
  parts <- c(FORMULA$common,
             FORMULA[[switch(mm, luo = "luo", wan = "wan.mean", bland = "bland.mean", hozo = "hozo.mean",
                             walter = "walter.mean")]],
             FORMULA[[switch(sm, "wan/shi" = "wan.shi.sd", wan = "wan.sd", shi = "shi.sd", hozo = "hozo.sd",
                             bland = "bland.sd", walter = "walter.sd")]],
             FORMULA$skew)
  if (any(lnorm)) parts <- c(parts, FORMULA$lnorm, if (transf) FORMULA$transf)
  paste(parts, collapse = " ")
}

# One study at a time; a, q1, m, q3, b may be NA. Returns mean, sd, tval, crit, sig.
fivenum_row <- function(a, q1, m, q3, b, n, mm, sm, lnorm, transf, test) {
  out <- c(mean = NA_real_, sd = NA_real_, tval = NA_real_, crit = NA_real_, sig = NA)
  has.r <- !is.na(a) && !is.na(b)
  has.q <- !is.na(q1) && !is.na(q3)
  if (!(has.r || has.q) || n < 5) return(out)
  sc <- if (has.r && has.q) 3 else if (has.r) 1 else 2
  if (lnorm) { a <- log(a); q1 <- log(q1); m <- log(m); q3 <- log(q3); b <- log(b) }
  T1 <- abs(a + b - 2 * m) / (b - a)
  T2 <- abs(q1 + q3 - 2 * m) / (q3 - q1)
  if (sc == 1) { tv <- T1; cr <- 1 / log(n + 9) + 2.5 / (n + 1) }
  if (sc == 2) { tv <- T2; cr <- 2.65 / sqrt(n) - 6 / n^2 }
  if (sc == 3) { tv <- max(2.65 * log(0.6 * n) / sqrt(n) * T1, T2); cr <- 3 / sqrt(n) - 40 / n^3 }
  out["tval"] <- tv; out["crit"] <- cr; out["sig"] <- isTRUE(tv >= cr)
  if (test && isTRUE(tv >= cr)) return(out)
  mu <- NA_real_
  if (mm == "luo") {
    if (sc == 1) { w <- 4 / (4 + n^0.75); mu <- w * (a + b) / 2 + (1 - w) * m }
    if (sc == 2) { w <- 0.7 + 0.39 / n; mu <- w * (q1 + q3) / 2 + (1 - w) * m }
    if (sc == 3) {
      w1 <- 2.2 / (2.2 + n^0.75); w2 <- 0.7 - 0.72 / n^0.55
      mu <- w1 * (a + b) / 2 + w2 * (q1 + q3) / 2 + (1 - w1 - w2) * m
    }
  }
  if (mm == "wan") mu <- switch(sc, (a + 2 * m + b) / 4, (q1 + m + q3) / 3, (a + 2 * q1 + 2 * m + 2 * q3 + b) / 8)
  if (mm == "bland" && sc == 3) mu <- (a + 2 * q1 + 2 * m + 2 * q3 + b) / 8
  if (mm == "hozo" && sc == 1) mu <- if (n <= 25) (a + 2 * m + b) / 4 else m
  if (mm == "walter" && sc == 1) mu <- m
  z <- if (!lnorm) 1 else switch(sc, 1.01 + 0.25 / log(n)^2, 1 + 1.58 / n, 1 + 0.28 / log(n)^2)
  wS <- 1 / (1 + 0.07 * n^0.6)
  s <- NA_real_
  if (sm %in% c("wan/shi", "wan") && sc == 1) s <- (b - a) / xi(n) / sqrt(z)
  if (sm %in% c("wan/shi", "wan") && sc == 2) s <- (q3 - q1) / eta(n) / sqrt(z)
  if (sm %in% c("wan/shi", "shi") && sc == 3) s <- (wS * (b - a) / xi(n) + (1 - wS) * (q3 - q1) / eta(n)) / sqrt(z)
  if (sm == "wan" && sc == 3) s <- ((b - a) / xi(n) + (q3 - q1) / eta(n)) / 2
  if (sm == "hozo" && sc == 1)
    s <- if (n <= 15) sqrt(((a - 2 * m + b)^2 / 4 + (b - a)^2) / 12) else if (n <= 70) (b - a) / 4 else (b - a) / 6
  if (sm == "bland" && sc == 3)
    s <- sqrt((a^2 + 2 * q1^2 + 2 * m^2 + 2 * q3^2 + b^2) / 16 + (a * q1 + q1 * m + m * q3 + q3 * b) / 8 -
              (a + 2 * q1 + 2 * m + 2 * q3 + b)^2 / 64)
  if (sm == "walter" && sc == 1) s <- (b - a) / erange(n)
  if (lnorm && transf) {
    s4 <- switch(sc, ((b - a) / xi(n))^4 / (1 + 2.23 / log(n)^2),
                 ((q3 - q1) / eta(n))^4 / (1 + 19.2 / n^1.2),
                 (wS * (b - a) / xi(n) + (1 - wS) * (q3 - q1) / eta(n))^4 / (1 + 3.93 / n))
    cc <- switch(sc, c(0.565, 0.37, 2.26, 5.92, 2.26, 1.48), c(0.57, 0.75, 2.28, 12, 2.28, 3),
                 c(0.405, 0.315, 1.62, 5.04, 1.62, 1.26))
    phi <- 1 + cc[1] * s^2 / n + cc[2] * s4 / n
    phia <- 1 + cc[3] * s^2 / n + cc[4] * s4 / n
    phib <- 1 + cc[5] * s^2 / n + cc[6] * s4 / n
    bt.mu <- exp(mu + s^2 / 2) / phi
    s <- suppressWarnings(sqrt(exp(2 * mu + 2 * s^2) / phia - exp(2 * mu + s^2) / phib))
    mu <- bt.mu
  }
  out["mean"] <- mu; out["sd"] <- s
  out
}

PY_METHOD <- c(luo = "luo2018", wan = "wan2014", hozo = "hozo2005", bland = "bland2015",
               walter = "walter2007", shi = "shi2020")
fivenum_case <- function(id, d, mm, sm, desc, lnorm = rep(FALSE, nrow(d)), transf = TRUE, test = TRUE) {
  r <- t(sapply(seq_len(nrow(d)), function(i)
    fivenum_row(d$min[i], d$q1[i], d$median[i], d$q3[i], d$max[i], d$n[i], mm, sm, lnorm[i], transf, test)))
  py.method <- if (mm == "luo" && sm == "wan/shi") "luo-wan-shi" else c(PY_METHOD[[mm]], PY_METHOD[[sm]])
  mf.method <- if (identical(py.method, "luo-wan-shi")) "'luo/wan/shi'" else
    sprintf("c('%s', '%s')", sub("luo2018", "luo2016", py.method[1]), py.method[2])
  call <- sprintf(paste0("formula, not metafor (metafor 3.8-1 has no conv.fivenum; corresponds to metafor >= 4.2 ",
                         "conv.fivenum(min, q1, median, q3, max, n, method=%s, dist=c(%s), transf=%s, test=%s)) on %s. %s"),
                  mf.method, paste0("'", ifelse(lnorm, "lnorm", "norm"), "'", collapse = ","), transf, test, desc,
                  formula_text(mm, sm, lnorm, transf))
  add(id, call,
      list(minimum = cnum(d$min), q1 = cnum(d$q1), median = cnum(d$median), q3 = cnum(d$q3),
           maximum = cnum(d$max), n = cnum(d$n)),
      list(fn = "mean_sd_from_median", source = "formula", method = py.method,
           distribution = ifelse(lnorm, "log-normal", "normal"), back_transform = transf, skew_test = test),
      list(mean = cnum(r[, "mean"]), sd = cnum(r[, "sd"]), skew_stat = cnum(r[, "tval"]),
           skew_crit = cnum(r[, "crit"]), skewed = lapply(as.logical(r[, "sig"]), function(v) if (is.na(v)) NULL else v)))
}

# metafor's conv.fivenum help-page examples (study 4 reports mean/SD and is not converted)
rd1 <- data.frame(min = c(2, NA, 2, NA), q1 = c(NA, 4, 4, NA), median = c(6, 6, 6, NA),
                  q3 = c(NA, 10, 10, NA), max = c(14, NA, 14, NA), n = c(20, 20, 20, 20))
rd2 <- data.frame(min = c(2, NA, 2, NA), q1 = c(NA, 4, 4, NA), median = c(6, 6, 6, NA),
                  q3 = c(NA, 10, 14, NA), max = c(14, NA, 20, NA), n = c(20, 20, 20, 20))
# S1 rows spanning the Hozo branches (n <= 15, <= 25, <= 70, > 70)
s1 <- data.frame(min = c(1, 10, -5, 0, 20, 3.5, 100, 2, 0.4), q1 = NA,
                 median = c(4, 18, 0, 12, 31, 6.1, 140, 5, 1.1), q3 = NA,
                 max = c(9, 30, 6, 25, 45, 9.0, 175, 8, 2.0),
                 n = c(5, 15, 16, 25, 26, 70, 71, 250, 1200))
# S2 rows (negative values allowed under normality)
s2 <- data.frame(min = NA, q1 = c(2, 15, -3.2, 40, 0.8, 7), median = c(4, 20, -1.0, 52, 1.0, 9),
                 q3 = c(7, 24, 1.5, 60, 1.3, 11), max = NA, n = c(5, 12, 40, 100, 1000, 33))
# S3 rows
s3 <- data.frame(min = c(0, 5, -10, 12, 0.1, 30), q1 = c(2, 9, -4, 20, 0.9, 41),
                 median = c(3, 11, -1, 24, 1.2, 45), q3 = c(5, 14, 2, 27, 1.6, 50),
                 max = c(8, 20, 9, 40, 2.4, 61), n = c(5, 18, 40, 77, 300, 2500))
# mixed: S1, S2, S3, n < 5, a range without a median, nothing to convert
mix <- data.frame(min = c(1, NA, 0, 1, 2, NA), q1 = c(NA, 3, 2, NA, NA, NA),
                  median = c(5, 5, 3, 5, NA, NA), q3 = c(NA, 8, 5, NA, NA, NA),
                  max = c(11, NA, 8, 11, 14, NA), n = c(30, 30, 30, 4, 22, 50))
# right-skewed positive data (e.g. length of stay, days) for the log-normal variant
ln <- data.frame(min = c(1, NA, 1, 2, NA, 0.5), q1 = c(NA, 3, 2, NA, 2.5, 1.5),
                 median = c(4, 5, 3.5, 6, 4, 2.2), q3 = c(NA, 9, 6, NA, 8, 4.0),
                 max = c(30, NA, 25, 60, NA, 19), n = c(40, 60, 120, 15, 8, 500))

fivenum_case("fivenum_default_rd_example", rd1, "luo", "wan/shi", "the conv.fivenum help-page example")
fivenum_case("fivenum_default_rd_skewed", rd2, "luo", "wan/shi", "the help-page example with a skewed study 3")
fivenum_case("fivenum_default_rd_skewed_notest", rd2, "luo", "wan/shi", "the skewed help-page example", test = FALSE)
fivenum_case("fivenum_default_rd_skewed_lnorm3", rd2, "luo", "wan/shi", "the skewed help-page example, study 3 log-normal",
             lnorm = c(FALSE, FALSE, TRUE, FALSE))
fivenum_case("fivenum_default_s1", s1, "luo", "wan/shi", "S1 data, n = 5 to 1200")
fivenum_case("fivenum_default_s1_notest", s1, "luo", "wan/shi", "S1 data, n = 5 to 1200", test = FALSE)
fivenum_case("fivenum_default_s2", s2, "luo", "wan/shi", "S2 data", test = FALSE)
fivenum_case("fivenum_default_s2_test", s2, "luo", "wan/shi", "S2 data")
fivenum_case("fivenum_default_s3", s3, "luo", "wan/shi", "S3 data", test = FALSE)
fivenum_case("fivenum_default_s3_test", s3, "luo", "wan/shi", "S3 data")
fivenum_case("fivenum_default_mixed", mix, "luo", "wan/shi", "mixed scenarios, n < 5, no median, nothing to convert")
fivenum_case("fivenum_wan_rd_example", rd1, "wan", "wan", "the conv.fivenum help-page example")
fivenum_case("fivenum_wan_s1", s1, "wan", "wan", "S1 data", test = FALSE)
fivenum_case("fivenum_wan_s2", s2, "wan", "wan", "S2 data", test = FALSE)
fivenum_case("fivenum_wan_s3", s3, "wan", "wan", "S3 data", test = FALSE)
fivenum_case("fivenum_wan_mixed", mix, "wan", "wan", "mixed scenarios")
fivenum_case("fivenum_hozo_s1", s1, "hozo", "hozo", "S1 data across the Hozo n-branches", test = FALSE)
fivenum_case("fivenum_hozo_rd_example", rd1, "hozo", "hozo", "the help-page example (S2/S3 rows give NA)")
fivenum_case("fivenum_walter_s1", s1, "walter", "walter", "S1 data", test = FALSE)
fivenum_case("fivenum_bland_s3", s3, "bland", "bland", "S3 data", test = FALSE)
fivenum_case("fivenum_bland_rd_example", rd1, "bland", "bland", "the help-page example (S1/S2 rows give NA)")
fivenum_case("fivenum_luo_wan_s3", s3, "luo", "wan", "S3 data", test = FALSE)
fivenum_case("fivenum_wan_shi_s3", s3, "wan", "shi", "S3 data", test = FALSE)
fivenum_case("fivenum_luo_shi_mixed", mix, "luo", "shi", "mixed scenarios (only S3 gets an SD)")
fivenum_case("fivenum_hozo_wan_s1", s1, "hozo", "wan", "S1 data", test = FALSE)
fivenum_case("fivenum_lnorm_transf", ln, "luo", "wan/shi", "positive skewed data", lnorm = rep(TRUE, nrow(ln)))
fivenum_case("fivenum_lnorm_notransf", ln, "luo", "wan/shi", "positive skewed data", lnorm = rep(TRUE, nrow(ln)), transf = FALSE)
fivenum_case("fivenum_lnorm_notest", ln, "luo", "wan/shi", "positive skewed data", lnorm = rep(TRUE, nrow(ln)), test = FALSE)
fivenum_case("fivenum_normal_on_skewed", ln, "luo", "wan/shi", "positive skewed data assumed normal")

write_reference("conversions", cases)
