"""Numbered point discs that stay apart when the face is turned.

On a face turned away from the camera the far side is foreshortened: points 10 mm apart on the
skin can be a few pixels apart in the picture. Each disc's radius is therefore capped by half the
on-screen distance to its nearest neighbouring point (less a small gap), so no two discs overlap;
it never drops below a small dot. Points closer on screen than two such dots (skin seen almost
edge-on) share one mark labelled with all their numbers ("28,29", "20–22"). The number goes
inside the disc at the largest size that fits; when even the legible minimum does not fit, it
goes beside the disc, clear of every disc and of the numbers already placed; where the points
crowd so much that no such place is next to it (a turned face's far side), further out with a
leader line to its disc; only if even that fails is it left out rather than printed over
other points.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
Box = tuple[float, float, float, float]  # x0, y0, x1, y1

# Sizes in pixels at scale 1 (a face about 1200 px wide).
RADIUS_MAX = 20.0  # the disc of the largest dose
RADIUS_MIN = 12.0  # the smallest dose's disc, when there is room
DOT_MIN = 3.0  # a crowded point is never drawn smaller than this
GAP = 3.0  # between the outlines of neighbouring discs (covers the SVG's outward stroke)
NUMBER_SIZE = 20.0  # numbers 1-99 inside a full-size disc
NUMBER_SIZE_3 = 16.0  # numbers from 100
NUMBER_MIN = 11.0  # smallest legible number inside a disc
BESIDE_SIZE = 14.0  # a number written beside a disc too small to hold it
DIGIT_EM = 0.64  # width of a bold DejaVu digit in ems (layout only)
# How far beyond a disc's edge a number may go, tried in turn (pixels at scale 1); past the
# first, a leader line joins the number to its disc.
LEADER_REACHES = (0.0, 18.0, 36.0, 60.0)


@dataclass(frozen=True)
class PointMark:
    """How one point (or a few inseparable ones) is drawn: a disc and, unless thinned, a label.

    ``numbers`` are the injection-order numbers the mark stands for and ``text`` their label;
    ``text_at`` is the middle of the label's baseline; ``inside`` says whether it sits in the
    disc (white) or beside it (dark, with a halo).
    """

    centre: tuple[float, float]
    radius: float
    numbers: tuple[int, ...]
    text: str
    text_at: tuple[float, float] | None
    text_size: float
    inside: bool
    leader: tuple[tuple[float, float], tuple[float, float]] | None = None  # disc -> far number


def numbers_text(numbers: Sequence[int]) -> str:
    """The label of a mark standing for ``numbers``: runs of three or more as ranges.

    Examples
    --------
    >>> numbers_text([7]), numbers_text([29, 28]), numbers_text([20, 21, 22, 25])
    ('7', '28,29', '20–22,25')
    """
    ordered = sorted(numbers)
    parts: list[str] = []
    start = 0
    for k in range(1, len(ordered) + 1):
        if k == len(ordered) or ordered[k] != ordered[k - 1] + 1:
            run = ordered[start:k]
            if len(run) >= 3:
                parts.append(f"{run[0]}–{run[-1]}")
            else:
                parts.extend(str(n) for n in run)
            start = k
    return ",".join(parts)


def nearest_distances(centres: FloatArray) -> FloatArray:
    """Each point's on-screen distance to its nearest other point (``inf`` when alone)."""
    if len(centres) < 2:
        return np.full(len(centres), np.inf)
    return np.asarray(_pairwise(centres).min(axis=1), dtype=np.float64)


def _pairwise(centres: FloatArray) -> FloatArray:
    diff = centres[:, None, :] - centres[None, :, :]
    dist = np.hypot(diff[..., 0], diff[..., 1])
    np.fill_diagonal(dist, np.inf)
    return np.asarray(dist, dtype=np.float64)


def _groups(centres: FloatArray, min_distance: float) -> list[list[int]]:
    """Indices of points merged, nearest pair first, until all groups' centres are at least
    ``min_distance`` apart."""
    groups = [[k] for k in range(len(centres))]
    while len(groups) > 1:
        dist = _pairwise(np.array([centres[g].mean(axis=0) for g in groups]))
        i, j = sorted(np.unravel_index(int(np.argmin(dist)), dist.shape))
        if dist[i, j] >= min_distance:
            break
        groups[i] = sorted(groups[i] + groups.pop(j))
    return groups


def _number_fit(radius: float, digits: int) -> float:
    """Largest number size that fits inside a disc of ``radius`` (width and cap height)."""
    return min(1.3 * radius, 1.5 * radius / (DIGIT_EM * digits))


def _circle_box_gap(box: Box, centres: FloatArray, radii: FloatArray) -> float:
    """Smallest distance from the box to the discs (negative when one reaches into it)."""
    x0, y0, x1, y1 = box
    dx = np.maximum(np.maximum(x0 - centres[:, 0], 0.0), centres[:, 0] - x1)
    dy = np.maximum(np.maximum(y0 - centres[:, 1], 0.0), centres[:, 1] - y1)
    return float((np.hypot(dx, dy) - radii).min())


def _overlaps(box: Box, others: Sequence[Box]) -> bool:
    return any(box[0] < o[2] and o[0] < box[2] and box[1] < o[3] and o[1] < box[3] for o in others)


def _beside(
    k: int,
    text_w: float,
    size: float,
    centres: FloatArray,
    radii: FloatArray,
    taken: list[Box],
    scale: float,
) -> tuple[float, float] | None:
    """Where to write point ``k``'s number next to its disc, or ``None`` if nowhere is clear."""
    x, y = centres[k]
    half_w, half_h = text_w / 2, 0.4 * size
    # Away from the nearest point first, then round the disc.
    others = np.delete(centres, k, axis=0)
    if len(others):
        near = others[np.argmin(np.hypot(*(others - centres[k]).T))]
        start = float(np.arctan2(y - near[1], x - near[0]))
    else:
        start = 0.0
    for extra in LEADER_REACHES:  # next to the disc first; then further out, with a leader
        best: tuple[float, tuple[float, float]] | None = None
        for step in range(12):
            angle = start + (step + 1) // 2 * (1 if step % 2 else -1) * np.pi / 6
            ux, uy = float(np.cos(angle)), float(np.sin(angle))
            # From the disc's centre to the box's centre along (ux, uy), so the box clears it.
            reach = radii[k] + (2.0 + extra) * scale + abs(ux) * half_w + abs(uy) * half_h
            bx, by = x + ux * reach, y + uy * reach
            box = (bx - half_w, by - half_h, bx + half_w, by + half_h)
            clearance = _circle_box_gap(box, centres, radii)
            if clearance < 1.0 * scale or _overlaps(box, taken):
                continue
            score = min(clearance, 6.0 * scale) - 0.1 * step
            if best is None or score > best[0]:
                best = (score, (bx, by))
        if best is not None:
            bx, by = best[1]
            taken.append((bx - half_w, by - half_h, bx + half_w, by + half_h))
            return bx, by + 0.36 * size  # the middle of the baseline, as the label is anchored
    return None


def point_marks(
    centres: FloatArray, shares: Sequence[float], numbers: Sequence[int], scale: float = 1.0
) -> tuple[list[PointMark], list[Box]]:
    """Discs and labels for points at ``centres`` (K×2 pixels).

    Parameters
    ----------
    centres
        Where the points fall in the picture.
    shares
        Each point's units as a fraction of the largest point's (disc area follows it when
        there is room).
    numbers
        The points' injection-order numbers.
    scale
        Size factor (1.0 suits a face about 1200 px wide).

    Returns
    -------
    The marks, ordered by their first number, and the boxes of labels written beside discs
    (for the zone names to avoid).
    """
    groups = _groups(centres, (2 * DOT_MIN + GAP) * scale)
    groups.sort(key=lambda g: min(numbers[k] for k in g))
    where = np.array([centres[g].mean(axis=0) for g in groups]) if groups else np.zeros((0, 2))
    nearest = nearest_distances(where)
    share = [max(shares[k] for k in g) for g in groups]
    wanted = np.array([max(RADIUS_MAX * s**0.5, RADIUS_MIN) * scale for s in share])
    room = nearest / 2 - GAP * scale / 2
    radii = np.maximum(np.minimum(wanted, room), DOT_MIN * scale)
    marks: list[PointMark] = []
    taken: list[Box] = []
    for k, group in enumerate(groups):
        x, y = float(where[k, 0]), float(where[k, 1])
        text = numbers_text([numbers[i] for i in group])
        chars = len(text)
        full = (NUMBER_SIZE if chars < 3 else NUMBER_SIZE_3) * scale
        size = min(full, _number_fit(float(radii[k]), chars))
        at: tuple[float, float] | None
        if size >= NUMBER_MIN * scale:
            inside, at = True, (x, y + 0.36 * size)
        else:
            inside, size = False, BESIDE_SIZE * scale
            at = _beside(k, DIGIT_EM * size * chars, size, where, radii, taken, scale)
        numbers_k = tuple(sorted(numbers[i] for i in group))
        leader = None
        if at is not None and not inside:
            tx, ty = at[0], at[1] - 0.36 * size  # the number's middle
            gap = float(np.hypot(tx - x, ty - y))
            near = float(radii[k]) + (2.0 + LEADER_REACHES[1] / 2) * scale
            if gap - DIGIT_EM * size * chars / 2 > near:  # set off: join it to its disc
                ux, uy = (tx - x) / gap, (ty - y) / gap
                edge = (x + ux * float(radii[k]), y + uy * float(radii[k]))
                stop = gap - 0.5 * max(DIGIT_EM * size * chars, size)
                leader = (edge, (x + ux * stop, y + uy * stop))
        marks.append(PointMark((x, y), float(radii[k]), numbers_k, text, at, size, inside, leader))
    return marks, taken
