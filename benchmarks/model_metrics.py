"""Verification figures of one embedding on the shared sets, for choosing a model.

Every function takes the unit embeddings of the labelled faces with their person, manifest kind
and relpath (``cfp_dev`` photos are given kinds ``cfp_frontal``/``cfp_profile`` and persons
``cfp_<id>`` by ``cfp_rows``), so the same figures come out of the app's model ids
(``model_choice.py``) and of variants embedded side by side (``embedding_variants.py``).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass

import numpy as np
from quality_data import FACES_DIR, cfp_rows
from sklearn.metrics import roc_auc_score

from faceorganizer.core.calibration import equal_error

__all__ = ["FACES_DIR", "cfp_figures", "cfp_rows", "lfw_figures", "photo_figures", "tar_at"]


def tar_at(same: np.ndarray, diff: np.ndarray, far: float) -> float:
    """Share of same-person scores at or above the lowest threshold that lets at most ``far`` of
    the different-person scores through."""
    diff = np.sort(np.asarray(diff))
    allowed = int(np.floor(far * len(diff)))
    threshold = np.nextafter(diff[-1], np.inf) if allowed == 0 else diff[len(diff) - allowed]
    if allowed and allowed < len(diff) and diff[len(diff) - allowed - 1] == threshold:
        threshold = np.nextafter(threshold, np.inf)
    return float(np.mean(np.asarray(same) >= threshold))


def _pairs(e: np.ndarray, person: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    sims = e @ e.T
    i, j = np.triu_indices(len(e), 1)
    same = person[i] == person[j]
    return sims[i, j][same], sims[i, j][~same]


@dataclass(frozen=True)
class LfwFigures:
    eer: float
    tar_1e3: float
    tar_1e4: float
    recall_at_1: float
    misses: int
    queries: int


def lfw_figures(e: np.ndarray, person: np.ndarray, kind: np.ndarray) -> LfwFigures:
    """``lfw_dev`` + ``lfw_strangers``: all pairs for EER and TAR; every ``lfw_dev`` face a
    query whose nearest other face (strangers included) should be its person's."""
    rows = np.flatnonzero(np.isin(kind, ["lfw_crop", "lfw_stranger"]))
    x, lab = e[rows], person[rows]
    same, diff = _pairs(x, lab)
    _, eer = equal_error(same, diff)
    sims = x @ x.T
    np.fill_diagonal(sims, -np.inf)
    nearest = np.argmax(sims, axis=1)
    has_mate = np.array([np.sum(lab == p) > 1 for p in lab])
    queries = np.flatnonzero((kind[rows] == "lfw_crop") & has_mate)
    hits = lab[nearest[queries]] == lab[queries]
    return LfwFigures(
        eer,
        tar_at(same, diff, 1e-3),
        tar_at(same, diff, 1e-4),
        float(hits.mean()),
        int((~hits).sum()),
        len(queries),
    )


@dataclass(frozen=True)
class PhotoFigures:
    auc: float
    tar_1e3: float
    five_celebrity_auc: float
    pairs: int


def photo_figures(
    e: np.ndarray, person: np.ndarray, kind: np.ndarray, relpath: np.ndarray
) -> PhotoFigures:
    """The non-LFW full photos: ROC AUC and TAR at FAR 1e-3 over all pairs of labelled faces,
    and the AUC of ``five_celebrity`` alone (people photographed decades apart)."""
    rows = np.flatnonzero(kind == "photo")
    same, diff = _pairs(e[rows], person[rows])
    five = rows[np.char.startswith(relpath[rows].astype(str), "photos/five_celebrity/")]
    s5, d5 = _pairs(e[five], person[five])
    y = np.r_[np.ones(len(same)), np.zeros(len(diff))]
    y5 = np.r_[np.ones(len(s5)), np.zeros(len(d5))]
    return PhotoFigures(
        float(roc_auc_score(y, np.r_[same, diff])),
        tar_at(same, diff, 1e-3),
        float(roc_auc_score(y5, np.r_[s5, d5])),
        len(same) + len(diff),
    )


@dataclass(frozen=True)
class CfpFigures:
    tar_1e3: float
    auc: float
    genuine: int
    impostors: int
    missing_pairs: int


def cfp_figures(e: np.ndarray, relpath: np.ndarray) -> CfpFigures:
    """TAR at FAR 1e-3 of the protocol's same-person pairs against every cross-person
    frontal x profile pair; ROC AUC of the protocol's own 2,100 pairs. A pair whose face was
    not found counts as a rejected genuine pair (or is left out as an impostor)."""
    index = {str(p): k for k, p in enumerate(relpath)}
    with open(FACES_DIR / "cfp_dev" / "pairs.csv", newline="") as f:
        pairs = list(csv.DictReader(f))
    genuine, protocol_scores, protocol_y, missing = [], [], [], 0
    for p in pairs:
        a, b = index.get(f"cfp_dev/{p['path_a']}"), index.get(f"cfp_dev/{p['path_b']}")
        if a is None or b is None:
            missing += 1
            score = -1.0
        else:
            score = float(e[a] @ e[b])
        protocol_scores.append(score)
        protocol_y.append(int(p["same"]))
        if p["same"] == "1":
            genuine.append(score)
    paths = np.asarray(relpath).astype(str)
    frontal = np.flatnonzero(np.char.find(paths, "/frontal_") >= 0)
    profile = np.flatnonzero(np.char.find(paths, "/profile_") >= 0)
    frontal = frontal[np.char.startswith(paths[frontal], "cfp_dev/")]
    profile = profile[np.char.startswith(paths[profile], "cfp_dev/")]
    who = np.array([p.split("/")[1] for p in paths], dtype=object)
    sims = e[frontal] @ e[profile].T
    cross = who[frontal][:, None] != who[profile][None, :]
    impostors = sims[cross]
    return CfpFigures(
        tar_at(np.asarray(genuine), impostors, 1e-3),
        float(roc_auc_score(protocol_y, protocol_scores)),
        len(genuine),
        int(cross.sum()),
        missing,
    )
