"""MVP-7.4 (notebook 15): a physical-window gate over the nine Ridge experts, against the
pseudo gate and the conditional models, on the same test stars.

:func:`fit_conditional_models` fits the order-1 conditional Ridge (MVP-3.2) and Conditional
Ridge++ (MVP-7.2, on binned pixels) on the experts' part of the training stars;
:func:`route_candidates` gathers every routing of the frozen experts (oracle, pseudo, the
window gates soft and hard) with the option each one chooses, and
:func:`conditional_predictions` the predictions of the conditional models, which do not route.
:data:`DOCUMENT_PAIRS` are the comparisons of the document's acceptance and stop-loss rules.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from moehelpers.data import splits as experiment
from moehelpers.engine.ridge import RidgeStats
from moehelpers.gates import learned
from moehelpers.gates.learned import TrainPart
from moehelpers.models import conditional, modulated
from moehelpers.models.piecewise import PiecewiseRidge

__all__ = ["COND_PRED", "COND_TRUE", "DOCUMENT_PAIRS", "MIXTURE", "ORACLE", "PP_PRED",
           "PP_TRUE", "PSEUDO", "SOFT", "conditional_predictions", "fit_conditional_models",
           "route_candidates"]

ORACLE = "oracle (true labels)"
PSEUDO = "pseudo (predicted Teff, [M/H])"
#: The window gate the document's rules judge.
SOFT = "window gate, soft multinomial"
HARD = "window gate, hard multinomial"
MIXTURE = "window gate, soft mixture"
COND_PRED = "conditional Ridge (predicted [M/H])"
COND_TRUE = "conditional Ridge (true [M/H])"
PP_PRED = "Conditional Ridge++ (predicted Teff, [M/H])"
PP_TRUE = "Conditional Ridge++ (true Teff, [M/H])"

#: (model a, model b) of the document's comparisons, in the order the verdicts read them:
#: the window gate against the pseudo gate first, against Conditional Ridge++ (predicted
#: labels) second.
DOCUMENT_PAIRS = [(SOFT, PSEUDO), (SOFT, PP_PRED), (SOFT, PP_TRUE), (MIXTURE, PP_PRED),
                  (SOFT, COND_PRED)]


def fit_conditional_models(ex: TrainPart, stats: RidgeStats, X_val: Any, y_val: Any,
                           labels_val: pd.DataFrame, *, alphas: Sequence[float],
                           pp_terms: Sequence[str], pp_pixel_bin: int
                           ) -> tuple[conditional.ConditionalRidge, modulated.ModulatedRidge]:
    """Fit the order-1 conditional Ridge and Conditional Ridge++ on the experts' stars.

    Both are fitted with the true labels, α chosen on validation. The order-1 model
    ``[x, m·x]`` reuses the experts' global statistics ``stats``; Conditional Ridge++ (the
    modulators ``pp_terms`` of the standardised m = [M/H], t = Teff) is fitted on spectra
    averaged over ``pp_pixel_bin`` adjacent pixels, its α walk starting at the order-1 α.

    Parameters
    ----------
    ex : TrainPart
        The experts' part of the training split.
    stats : RidgeStats
        Global Ridge statistics of ``ex``.
    X_val, y_val, labels_val
        Validation flux, log g and labels.
    alphas : sequence of float
        Ridge α grid.
    pp_terms : sequence of str
        Modulators of Conditional Ridge++ (``"m"``, ``"t"``, ``"m*t"``, …).
    pp_pixel_bin : int
        Pixels averaged for Conditional Ridge++.

    Returns
    -------
    cond : ConditionalRidge
        Order 1 in [M/H].
    pp : ModulatedRidge
        Conditional Ridge++ (takes binned pixels).
    """
    moments, m_mean, m_sd = conditional.standardized_moments(
        ex.X, ex.y, ex.labels["M_H"].to_numpy(), 2, base=stats)
    cond = conditional.ConditionalRidge(1, alphas, alpha_search="walk").fit_moments(
        moments, m_mean, m_sd, X_val, y_val, labels_val["M_H"].to_numpy(),
        train=(ex.X, ex.y, ex.labels["M_H"].to_numpy()))
    del moments
    x_binned, z_train = experiment.bin_pixels(ex.X, pp_pixel_bin), modulated.label_modulators(
        ex.labels)
    gram, scaling, _ = modulated.step_stats([list(pp_terms)], x_binned, ex.y, z_train)
    (pp,), _ = modulated.fit_steps([list(pp_terms)], gram, scaling,
                                   experiment.bin_pixels(X_val, pp_pixel_bin), y_val,
                                   modulated.label_modulators(labels_val), alphas,
                                   alpha_start=cond.alpha_, train=(x_binned, ex.y, z_train))
    return cond, pp


def route_candidates(moe: PiecewiseRidge, X_test: Any, labels_test: pd.DataFrame,
                     routed: pd.DataFrame, experts_test: np.ndarray, true_options: np.ndarray,
                     P_log: np.ndarray, P_mix: np.ndarray
                     ) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Every routing of the frozen experts on the test stars, with the option it chooses.

    Parameters
    ----------
    moe : PiecewiseRidge
        The nine physical-bin experts and the global Ridge.
    X_test, labels_test
        Test flux and true labels.
    routed : DataFrame
        Test labels with ``M_H`` and ``T_eff`` predicted from the spectrum (pseudo gate).
    experts_test : ndarray of shape (n, K + 1)
        :func:`~moehelpers.gates.learned.expert_matrix` of the test flux.
    true_options : ndarray of shape (n,)
        True option of every test star.
    P_log, P_mix : ndarray of shape (n, K + 1)
        Option probabilities of the logistic and the mixture window gates.

    Returns
    -------
    dict of str → (prediction, chosen option)
        :data:`ORACLE`, :data:`PSEUDO` (stars outside every bin choose the global model),
        :data:`SOFT`, :data:`HARD`, :data:`MIXTURE`; a soft gate's chosen option is its most
        probable one.
    """
    ps_ids = moe.route(routed)
    return {
        ORACLE: (moe.predict(X_test, labels_test), true_options),
        PSEUDO: (moe.predict(X_test, routed),
                 np.where(ps_ids >= 0, ps_ids, len(moe.experts_))),
        SOFT: (learned.combine(P_log, experts_test), P_log.argmax(axis=1)),
        HARD: (learned.combine(P_log, experts_test, "hard"), P_log.argmax(axis=1)),
        MIXTURE: (learned.combine(P_mix, experts_test), P_mix.argmax(axis=1))}


def conditional_predictions(cond: conditional.ConditionalRidge, pp: modulated.ModulatedRidge,
                            X_test: Any, Xb_test: Any, labels_test: pd.DataFrame,
                            routed: pd.DataFrame) -> dict[str, np.ndarray]:
    """Test predictions of the conditional models with predicted and with true labels.

    Parameters
    ----------
    cond, pp
        :func:`fit_conditional_models`.
    X_test, Xb_test
        Test flux at full resolution and binned as Conditional Ridge++ was fitted.
    labels_test, routed : DataFrame
        True test labels and the labels predicted from the spectrum.

    Returns
    -------
    dict of str → ndarray
        :data:`COND_PRED`, :data:`COND_TRUE`, :data:`PP_PRED`, :data:`PP_TRUE`.
    """
    return {
        COND_PRED: cond.predict(X_test, routed["M_H"].to_numpy()),
        COND_TRUE: cond.predict(X_test, labels_test["M_H"].to_numpy()),
        PP_PRED: pp.predict(Xb_test, modulated.label_modulators(routed)),
        PP_TRUE: pp.predict(Xb_test, modulated.label_modulators(labels_test))}
