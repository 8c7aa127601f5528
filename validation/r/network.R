# Reference values for acuevidence.network (network meta-analysis) from metafor's rma.mv.
#
# Contrast-based model as in the dat.senn2013 / dat.hasselblad1998 help pages: to.wide() with a
# reference arm, escalc() per contrast, V with the variance of the shared arm off the diagonal
# (calc.v of the help pages), treatment contrasts as moderators without intercept and
#   rma.mv(yi, V, mods = X, intercept = FALSE, random = ~ comp | study, rho = 1/2, method = ...)
# (no 'random' for the common-effect model). Consistency: the design-by-treatment interaction
# model (Higgins 2012) = consistency columns plus design-by-treatment indicator columns (metafor
# drops the redundant ones), anova(btt = interaction columns); node-splitting by one extra column
# (arm of the second treatment shifted in studies with both treatments); detaching designs as in
# Krahn (2013). Quantities that are not metafor's (the DerSimonian-Laird-type tau^2 of netmeta,
# P-scores, back-calculation) are computed here with plain matrix algebra / the help-page code and
# say so in their call strings.
# Run from the repository root:  Rscript validation/generate_reference.R network
source("validation/r/common.R")

# rma.mv's default optimizer (nlminb) with a tight relative tolerance; rel.tol below 1e-12 makes
# nlminb report non-convergence. REMLf = FALSE leaves log|X'X|/2 out of the REML log-likelihood
# (it depends on the parametrisation of the contrasts), as acuevidence does.
CTRL <- list(rel.tol = 1e-12, iter.max = 10000, eval.max = 10000, REMLf = FALSE)
CTRL_TXT <- "control = list(rel.tol = 1e-12, iter.max = 10000, eval.max = 10000, REMLf = FALSE)"

csort <- function(x) sort(unique(x), method = "radix")  # C-locale order, as Python's sorted()

# ---- data sets: long arm-level data ----------------------------------------------------------
sets <- list()
d <- dat.senn2013
sets$senn2013 <- list(arms = data.frame(study = d$study, treatment = d$treatment, n = d$ni,
                                        mean = d$mi, sd = d$sdi),
                      measure = "MD", ref = "placebo", add = 0, to = "none",
                      src = "dat.senn2013 (help-page contrast-based model, MD)")
d <- dat.hasselblad1998
sets$hasselblad1998 <- list(arms = data.frame(study = as.character(d$study), treatment = d$trt,
                                              n = d$ni, events = d$xi),
                            measure = "OR", ref = "no_contact", add = 1/2, to = "all",
                            src = "dat.hasselblad1998 (help-page contrast-based model, OR, add=1/2, to='all')")
d <- dat.linde2015
long <- do.call(rbind, lapply(1:3, function(j) {
  data.frame(study = as.character(d$id), treatment = d[[paste0("treatment", j)]],
             n = d[[paste0("n", j)]], events = d[[paste0("resp", j)]])
}))
# two-arm studies have treatment3 == ""; 7 studies do not report early response
long <- long[!is.na(long$treatment) & long$treatment != "" & !is.na(long$events), ]
long <- long[long$study %in% names(which(table(long$study) >= 2)), ]
long <- long[order(as.numeric(long$study)), ]
stopifnot(all(long$events > 0 & long$events < long$n))  # no zero cells: no correction
sets$linde2015 <- list(arms = long, measure = "OR", ref = "Placebo", add = 0, to = "none",
                       src = "dat.linde2015 early response (resp1-3, n1-3; arms without resp dropped), OR")

# ---- contrasts, V, design matrices ------------------------------------------------------------
Kmat <- function(b) {
  w <- b$w; n <- nrow(w)
  K <- matrix(0, n, n)
  for (i in 1:n) for (j in 1:n) if (w$study[i] == w$study[j])
    K[i, j] <- 0.5 * ((w$t1[i] == w$t1[j]) - (w$t1[i] == w$t2[j]) - (w$t2[i] == w$t1[j]) +
                      (w$t2[i] == w$t2[j]))
  K
}
build <- function(s) {
  a <- s$arms
  trts <- csort(a$treatment)
  grpvars <- if (s$measure == "MD") c("n", "mean", "sd") else c("n", "events")
  w <- to.wide(a, study = "study", grp = "treatment", ref = s$ref, grpvars = grpvars)
  if (s$measure == "MD") {
    w <- escalc(measure = "MD", m1i = mean.1, sd1i = sd.1, n1i = n.1, m2i = mean.2, sd2i = sd.2,
                n2i = n.2, data = w)
    shared <- w$sd.2^2 / w$n.2
  } else {
    if (s$to == "all") {
      w <- escalc(measure = "OR", ai = events.1, n1i = n.1, ci = events.2, n2i = n.2,
                  add = s$add, to = "all", data = w)
      shared <- 1 / (w$events.2 + s$add) + 1 / (w$n.2 - w$events.2 + s$add)
    } else {
      w <- escalc(measure = "OR", ai = events.1, n1i = n.1, ci = events.2, n2i = n.2, data = w)
      shared <- 1 / w$events.2 + 1 / (w$n.2 - w$events.2)
    }
  }
  w$t1 <- as.character(w$treatment.1); w$t2 <- as.character(w$treatment.2)
  w$study <- as.character(w$study)
  w$comp <- paste(w$t1, w$t2, sep = "-")
  w$shared <- shared
  # keep the rows in study order of first appearance
  w <- w[order(match(w$study, unique(a$study))), ]
  V <- bldiag(lapply(split(w, factor(w$study, levels = unique(w$study))), function(x) {
    v <- matrix(x$shared[1], nrow(x), nrow(x)); diag(v) <- x$vi; v }))
  arms_of <- split(c(w$t1, w$t2), c(w$study, w$study))
  w$design <- sapply(w$study, function(st) paste(csort(arms_of[[st]]), collapse = ":"))
  # the design baseline of R's rows must be common to the studies of a design
  stopifnot(all(tapply(w$t2, w$design, function(x) length(unique(x))) == 1))
  X <- sapply(trts, function(t) (w$t1 == t) - (w$t2 == t))
  Xc <- X[, trts != s$ref, drop = FALSE]
  # design-by-treatment indicators: one column per (design, non-baseline treatment)
  key <- paste(w$design, w$t1, sep = "|")
  keys <- sort(unique(key), method = "radix")
  dbt <- sapply(keys, function(k) as.numeric(key == k))
  key_design <- sub("[|].*$", "", keys)
  out <- list(w = w, V = V, trts = trts, X = X, Xc = Xc, dbt = dbt, key_design = key_design,
              arms_of = arms_of)
  out$K <- Kmat(out)
  out
}

# Score of the (restricted) likelihood in tau^2 at a fit: -tr(M K)/2 + (Py)' K (Py)/2 with
# M = P (REML) or Sigma^-1 (ML). Used only to choose among metafor's optimizers (below).
score_tau2 <- function(res, b, X, reml) {
  S <- b$V + res$tau2 * b$K; Si <- solve(S)
  P <- Si - Si %*% X %*% solve(t(X) %*% Si %*% X) %*% t(X) %*% Si
  M <- if (reml) P else Si
  Py <- P %*% b$w$yi
  sc <- -0.5 * sum(diag(M %*% b$K)) + 0.5 * c(t(Py) %*% b$K %*% Py)
  if (res$tau2 < 1e-10) sc <- max(sc, 0)  # at the boundary only a positive score is an error
  abs(sc)
}

# rma.mv's optimizers stop where the likelihood is flat to double precision, each at a slightly
# different tau^2 (1e-9 to 1e-6 relative; nlminb with rel.tol = 1e-12 often reports
# non-convergence). Every random-effects fit is therefore run with each optimizer below and the
# fit that satisfies the likelihood equation best (smallest |score|) is kept.
OPTIMIZERS <- list(
  CTRL,
  list(optimizer = "nlm", gradtol = 1e-12, steptol = 1e-12, REMLf = FALSE),
  list(optimizer = "optim", optmethod = "BFGS", reltol = 1e-14, REMLf = FALSE),
  list(optimizer = "bobyqa", rhoend = 1e-12, REMLf = FALSE),
  list(optimizer = "hjk", tol = 1e-12, REMLf = FALSE),
  list(iter.max = 10000, eval.max = 10000, REMLf = FALSE))
OPT_TXT <- paste("the fit with the smallest |score| among control = list(rel.tol = 1e-12, ...),",
                 "list(optimizer = 'nlm', gradtol = 1e-12, steptol = 1e-12),",
                 "list(optimizer = 'optim', optmethod = 'BFGS', reltol = 1e-14),",
                 "list(optimizer = 'bobyqa', rhoend = 1e-12), list(optimizer = 'hjk', tol = 1e-12)",
                 "and nlminb's defaults (all with REMLf = FALSE)")

fit <- function(b, method, cols = NULL, tau2 = NULL) {
  X <- if (is.null(cols)) b$Xc else cbind(b$Xc, cols)
  args <- list(yi = b$w$yi, V = b$V, mods = X, intercept = FALSE, data = b$w, control = CTRL)
  if (method == "FE") return(suppressWarnings(do.call(rma.mv, args)))
  args$random <- ~ comp | study; args$rho <- 1/2; args$method <- method
  if (!is.null(tau2)) { args$tau2 <- tau2; return(suppressWarnings(do.call(rma.mv, args))) }
  best <- NULL; best_sc <- Inf
  for (ctrl in OPTIMIZERS) {
    args$control <- ctrl
    res <- tryCatch(suppressWarnings(do.call(rma.mv, args)), error = function(e) NULL)
    if (is.null(res)) next
    sc <- score_tau2(res, b, X, reml = method == "REML")
    if (sc < best_sc) { best <- res; best_sc <- sc }
  }
  if (is.null(best)) stop("no optimizer converged")
  best
}

lc <- function(res, L) {
  est <- sum(L * coef(res)); se <- sqrt(c(t(L) %*% vcov(res) %*% L))
  c(est = est, se = se)
}

# DerSimonian-Laird-type tau^2 (Jackson, White & Riley 2012; netmeta): (Q - df) / tr(P K).
dl_tau2 <- function(b, X) {
  W <- solve(b$V)
  P <- W - W %*% X %*% solve(t(X) %*% W %*% X) %*% t(X) %*% W
  Q <- c(t(b$w$yi) %*% P %*% b$w$yi); df <- nrow(X) - ncol(X)
  max(0, (Q - df) / sum(diag(P %*% b$K)))
}

pairs_of <- function(trts) { p <- t(combn(length(trts), 2)); p }

cases <- list()
add_case <- function(id, call, data, args, expected) {
  cases[[length(cases) + 1]] <<- case(id, call, data, args, expected)
}

for (sn in names(sets)) {
  s <- sets[[sn]]
  b <- build(s)
  trts <- b$trts; cons <- trts[trts != s$ref]
  nz <- which(b$V != 0 & upper.tri(b$V, diag = TRUE), arr.ind = TRUE)
  data <- list(arms = lapply(as.list(s$arms), function(x) if (is.numeric(x)) num(x) else x),
               contrasts = list(study = b$w$study, treat1 = b$w$t1, treat2 = b$w$t2,
                                yi = num(b$w$yi)),
               V = list(i = nz[, 1] - 1, j = nz[, 2] - 1, v = num(b$V[nz])),
               treatments = trts)
  base_args <- list(dataset = sn, measure = s$measure, reference = s$ref, add = s$add, to = s$to)
  full_data <- data
  data <- list(dataset = sn)  # the data are written once, with network/<set>/FE/model
  pr <- pairs_of(trts)
  newmods <- t(apply(pr, 1, function(p) { L <- rep(0, length(trts)); L[p[1]] <- 1; L[p[2]] <- -1
                                          L[trts != s$ref] }))

  # --- consistency model: FE, REML, ML; DL via a fixed tau^2 ---------------------------------
  dl <- dl_tau2(b, b$Xc)
  for (method in c("FE", "REML", "ML", "DL")) {
    res <- if (method == "DL") fit(b, "REML", tau2 = dl) else fit(b, method)
    pp <- predict(res, newmods = newmods)
    ex <- list(treatments = cons, estimate = num(coef(res)), se = num(res$se),
               ci_lower = num(res$ci.lb), ci_upper = num(res$ci.ub),
               tau2 = num(if (method == "FE") 0 else res$tau2), q = num(res$QE), q_df = res$k - res$p,
               pair_treat1 = trts[pr[, 1]], pair_treat2 = trts[pr[, 2]],
               pair_estimate = num(pp$pred), pair_se = num(pp$se),
               pair_ci_lower = num(pp$ci.lb), pair_ci_upper = num(pp$ci.ub))
    if (method != "FE") { ex$pair_pi_lower <- num(pp$pi.lb); ex$pair_pi_upper <- num(pp$pi.ub) }
    if (method %in% c("REML", "ML")) {
      ex$loglik <- num(logLik(res)); ex$aic <- num(AIC(res)); ex$bic <- num(BIC(res))
    }
    if (method == "REML") {
      # P-scores as in the dat.senn2013 help page (larger values better)
      bb <- c(coef(res), 0); names(bb)[length(bb)] <- s$ref
      vb <- bldiag(vcov(res), 0); nm <- c(cons, s$ref)
      ps <- sapply(seq_along(nm), function(i) mean(sapply(seq_along(nm)[-i], function(j) {
        L <- rep(0, length(nm)); L[i] <- 1; L[j] <- -1
        pnorm(sum(L * bb) / sqrt(c(t(L) %*% vb %*% L))) })))
      ex$pscore_treatments <- nm; ex$pscore_large_good <- num(ps)
    }
    call <- if (method == "FE") {
      sprintf("rma.mv(yi, V, mods = X, intercept = FALSE, data = dat, %s)", CTRL_TXT)
    } else if (method == "DL") {
      paste0("tau2 <- (Q - df) / tr(P K) [matrix algebra, Jackson 2012 / netmeta]; ",
             sprintf("rma.mv(yi, V, mods = X, intercept = FALSE, random = ~ comp | study, rho = 1/2, tau2 = tau2, data = dat, %s)", CTRL_TXT))
    } else {
      sprintf("rma.mv(yi, V, mods = X, intercept = FALSE, random = ~ comp | study, rho = 1/2, method = '%s', data = dat, control = <%s>)", method, OPT_TXT)
    }
    if (method == "REML") call <- paste0(call, "; P-scores (larger is better) = mean over j of pnorm((b_i - b_j) / se_ij), the dat.senn2013 help-page computation")
    add_case(sprintf("network/%s/%s/model", sn, method),
             paste0(call, "; predict(res, newmods = all pairs)  # ", s$src),
             if (method == "FE") full_data else data, c(base_args, list(method = method)), ex)
  }

  # --- design-by-treatment interaction --------------------------------------------------------
  for (method in c("FE", "REML", "ML", "DL")) {
    full <- cbind(b$Xc, b$dbt)
    keep <- qr(full)$pivot[seq_len(qr(full)$rank)]
    extra <- sort(keep[keep > ncol(b$Xc)]) - ncol(b$Xc)
    Zx <- b$dbt[, extra, drop = FALSE]
    # Fit the DBT model and test the interaction columns (Wald); tau^2 of the DBT model.
    if (method == "DL") {
      X_dbt <- cbind(b$Xc, Zx)
      t2 <- dl_tau2(b, X_dbt)
      res <- fit(b, "REML", cols = Zx, tau2 = t2)
    } else {
      res <- fit(b, method, cols = Zx)
    }
    btt <- (ncol(b$Xc) + 1):(ncol(b$Xc) + ncol(Zx))
    an <- anova(res, btt = btt)
    fe_dbt <- fit(b, "FE", cols = Zx)
    an_fe <- anova(fe_dbt, btt = btt)
    # netmeta's Q.inc.random: tau^2 by the method of moments in the DBT model
    t2w <- dl_tau2(b, cbind(b$Xc, Zx))
    an_w <- anova(fit(b, "REML", cols = Zx, tau2 = t2w), btt = btt)
    ex <- list(q_within = num(fe_dbt$QE), q_within_df = fe_dbt$k - fe_dbt$p,
               q_between = num(an_fe$QM), q_between_df = an_fe$QMdf[1],
               statistic = num(an$QM), df = an$QMdf[1],
               p_value = num(an$QMp), dbt_tau2 = num(if (method == "FE") 0 else res$tau2),
               tau2_within = num(t2w), q_between_random = num(an_w$QM))
    if (method == "FE") {
      # per-design within Q and Q between designs after detaching each design (Krahn 2013)
      des <- unique(b$w$design)
      qw <- sapply(des, function(dd) {
        sub <- b$w$design == dd
        if (length(unique(b$w$study[sub])) == 1) return(0)  # one study: no within-design Q
        Zd <- b$dbt[sub, b$key_design == dd, drop = FALSE]
        suppressWarnings(rma.mv(b$w$yi[sub], b$V[sub, sub, drop = FALSE], mods = Zd,
                                intercept = FALSE, control = CTRL)$QE) })
      det <- sapply(des, function(dd) {
        Zd <- b$dbt[, b$key_design == dd, drop = FALSE]
        fd <- cbind(b$Xc, Zd)
        kk <- qr(fd)$rank - ncol(b$Xc)
        if (kk == 0) return(NA)
        keepd <- qr(fd)$pivot[seq_len(qr(fd)$rank)]
        Zk <- fd[, sort(keepd[keepd > ncol(b$Xc)]), drop = FALSE]
        fit(b, "FE", cols = Zk)$QE - fe_dbt$QE })
      ex$designs <- unname(des); ex$design_q_within <- num(qw); ex$design_q_detached <- num(det)
    }
    call <- paste0("Zx <- design-by-treatment indicators (design, treat1) not spanned by X (pivoted QR); ",
                   sprintf("res <- rma.mv(yi, V, mods = cbind(X, Zx), intercept = FALSE%s, data = dat, %s); anova(res, btt = Zx columns); ",
                           if (method == "FE") "" else if (method == "DL") ", random = ~ comp | study, rho = 1/2, tau2 = (Q - df)/tr(P K) of the DBT model" else sprintf(", random = ~ comp | study, rho = 1/2, method = '%s'", method), if (method %in% c("REML", "ML")) paste0("control = <", OPT_TXT, ">") else CTRL_TXT),
                   "FE: QE of the DBT model (within designs), QM (between designs); ",
                   "tau2_within = (Q - df)/tr(P K) of the DBT model, anova of the DBT model with tau2 = tau2_within  # ", s$src)
    add_case(sprintf("network/%s/%s/dbt", sn, method), call, data,
             c(base_args, list(method = method)), ex)
  }

  # --- node-splitting (SIDE model) and back-calculation ---------------------------------------
  counts <- crossprod(sapply(trts, function(t) sapply(b$arms_of, function(a) t %in% a)))
  for (method in c("FE", "REML")) {
    cons_fit <- fit(b, method)
    tau_net <- if (method == "FE") 0 else cons_fit$tau2
    out <- list(treat1 = c(), treat2 = c(), splittable = c(), direct = c(), direct_se = c(),
                indirect = c(), indirect_se = c(), difference = c(), difference_se = c(),
                p_value = c(), tau2 = c(), back_direct = c(), back_direct_se = c())
    for (r in seq_len(nrow(pr))) {
      A <- trts[pr[r, 1]]; B <- trts[pr[r, 2]]
      if (counts[A, B] == 0) next
      both <- sapply(b$w$study, function(st) all(c(A, B) %in% b$arms_of[[st]]))
      z <- ifelse(both & b$w$t1 == B, -1, ifelse(both & b$w$t2 == B, 1, 0))
      L <- (cons == A) - (cons == B)
      split_ok <- qr(cbind(b$Xc, z))$rank > ncol(b$Xc)
      out$treat1 <- c(out$treat1, A); out$treat2 <- c(out$treat2, B)
      out$splittable <- c(out$splittable, split_ok)
      if (split_ok) {
        res <- fit(b, method, cols = cbind(z = z))
        ind <- lc(res, c(L, 0)); dir <- lc(res, c(L, 1))
        p <- length(coef(res))
        out$direct <- c(out$direct, dir[["est"]]); out$direct_se <- c(out$direct_se, dir[["se"]])
        out$indirect <- c(out$indirect, ind[["est"]]); out$indirect_se <- c(out$indirect_se, ind[["se"]])
        out$difference <- c(out$difference, coef(res)[p]); out$difference_se <- c(out$difference_se, res$se[p])
        out$p_value <- c(out$p_value, res$pval[p])
        out$tau2 <- c(out$tau2, if (method == "FE") 0 else res$tau2)
      } else {
        for (k in c("direct", "direct_se", "indirect", "indirect_se", "difference",
                    "difference_se", "p_value", "tau2")) out[[k]] <- c(out[[k]], NA)
      }
      # back-calculation: direct estimate from the studies with both A and B (network tau^2)
      sub <- b$w$study %in% b$w$study[both]
      present <- trts[colSums(abs(b$X[sub, , drop = FALSE])) > 0]
      Xs <- b$X[sub, present[present != A], drop = FALSE]
      # GLS by matrix algebra (rma.mv refuses the one-study subsets)
      Ks <- b$K[sub, sub, drop = FALSE]
      Ws <- solve(b$V[sub, sub, drop = FALSE] + tau_net * Ks)
      Cs <- solve(t(Xs) %*% Ws %*% Xs)
      bs <- c(Cs %*% t(Xs) %*% Ws %*% b$w$yi[sub])
      jb <- which(colnames(Xs) == B)
      out$back_direct <- c(out$back_direct, -bs[jb]); out$back_direct_se <- c(out$back_direct_se, sqrt(Cs[jb, jb]))
    }
    ex <- lapply(out, function(x) if (is.numeric(x)) num(x) else x)
    ex$network_tau2 <- num(tau_net)
    call <- paste0("z <- -1 for rows with treat1 == B, +1 for rows with treat2 == B, in studies with A and B; ",
                   sprintf("res <- rma.mv(yi, V, mods = cbind(X, z), intercept = FALSE%s, data = dat, %s); ",
                           if (method == "FE") "" else ", random = ~ comp | study, rho = 1/2, method = 'REML'", if (method == "FE") CTRL_TXT else paste0("control = <", OPT_TXT, ">")),
                   "indirect = (e_A - e_B)'b, direct = indirect + coef(z); back-calculation direct: GLS (matrix algebra) on the studies with A and B, V + tau2 K with the network's tau2  # ", s$src)
    add_case(sprintf("network/%s/%s/split", sn, method), call, data,
             c(base_args, list(method = method)), ex)
  }
}

# ---- two treatments: the DL-type estimator reduces to rma.uni's DerSimonian-Laird ---------------
h <- dat.hasselblad1998
two <- split(h, h$study)
keep <- names(two)[sapply(two, function(x) nrow(x) == 2 && setequal(x$trt, c("ind_counseling", "no_contact")))]
hs <- h[h$study %in% keep, ]
w <- to.wide(hs, study = "study", grp = "trt", ref = "no_contact", grpvars = 6:7)
w <- escalc(measure = "OR", ai = xi.1, n1i = ni.1, ci = xi.2, n2i = ni.2, data = w)
for (method in c("DL", "REML", "FE")) {
  r1 <- rma(yi, vi, data = w, method = method, control = list(threshold = 1e-12, maxiter = 10000))
  add_case(sprintf("network/two_treatments/%s", method),
           sprintf("rma(yi, vi, method = '%s', control = list(threshold = 1e-12, maxiter = 10000))  # dat.hasselblad1998, two-arm studies of ind_counseling vs no_contact, escalc('OR')", method),
           list(study = as.character(w$study), treat1 = as.character(w$trt.1),
                treat2 = as.character(w$trt.2), yi = num(w$yi), vi = num(w$vi)),
           list(method = method, reference = "no_contact"),
           list(estimate = num(coef(r1)), se = num(r1$se), tau2 = num(r1$tau2), q = num(r1$QE)))
}

write_reference("network", cases)
