"""Names written beside the points of a scatter where each touches no marker, bar, line, other name or leader, and reads
as its own point's."""
from __future__ import annotations

from functools import lru_cache

import altair as alt
import numpy as np
import pandas as pd
from PIL import ImageFont

__all__ = ["place_labels", "label_layers", "line_obstacles", "text_width", "CLEARANCE", "NEAR"]

CLEARANCE = 3.0   # pixels kept free between a name's box and any marker, bar, line or other name
NEAR = 11.0       # a name whose box sits within this distance of its marker needs no leader line
OVERPRINT = 5000.0  # the cost of a name written over another name: above any other fault a place can have


@lru_cache(maxsize=4)
def _font(size: float):
    try:
        return ImageFont.truetype("DejaVuSans.ttf", int(round(size)))
    except OSError:   # no DejaVu Sans here: the estimate below
        return None


def text_width(text: str, font_size: float = 11.0) -> float:
    """Width in pixels of ``text`` in DejaVu Sans (measured; ~0.62 em a character without it)."""
    font = _font(font_size)
    est = 0.62 * font_size * len(text)
    return max(est, float(font.getlength(text))) if font is not None else est


def _overlap(b, c) -> float:
    return max(0.0, min(b[2], c[2]) - max(b[0], c[0])) * max(0.0, min(b[3], c[3]) - max(b[1], c[1]))


def _covered(box, circles: np.ndarray) -> float:
    """Area of ``box`` covered by the bounding squares of ``circles`` (rows x, y, r), summed."""
    x, y, r = circles[:, 0], circles[:, 1], circles[:, 2]
    wx = np.clip(np.minimum(box[2], x + r) - np.maximum(box[0], x - r), 0, None)
    wy = np.clip(np.minimum(box[3], y + r) - np.maximum(box[1], y - r), 0, None)
    return float((wx * wy).sum())


def _grow(b, d: float):
    return (b[0] - d, b[1] - d, b[2] + d, b[3] + d)


def _segment_hits(p0, p1, circles: np.ndarray, boxes) -> int:
    """How many of ``circles`` and ``boxes`` the segment p0 -> p1 passes through."""
    d = np.subtract(p1, p0)
    t = np.clip(((circles[:, 0] - p0[0]) * d[0] + (circles[:, 1] - p0[1]) * d[1]) / (float(d @ d) or 1.0), 0, 1)
    near = np.hypot(p0[0] + t * d[0] - circles[:, 0], p0[1] + t * d[1] - circles[:, 1])
    hits = int((near < circles[:, 2] + 1.0).sum())
    ts = np.linspace(0, 1, 24)
    pts = np.stack([p0[0] + ts * d[0], p0[1] + ts * d[1]], 1)
    for b in boxes:
        hits += int(((pts[:, 0] > b[0]) & (pts[:, 0] < b[2]) & (pts[:, 1] > b[1]) & (pts[:, 1] < b[3])).any())
    return hits


def _leader_end(px, py, cx, cy, w, h) -> tuple[float, float]:
    """Where a line from the marker (px, py) to a box centred at (cx, cy) meets the box."""
    vx, vy = cx - px, cy - py
    f = 1 - min((w / 2 + 2) / abs(vx) if vx else np.inf, (h / 2 + 1) / abs(vy) if vy else np.inf)
    return px + max(f, 0) * vx, py + max(f, 0) * vy


def place_labels(anchors: pd.DataFrame, obstacles: pd.DataFrame, *, width: float, height: float,
                 font_size: float = 11.0, clearance: float = CLEARANCE) -> pd.DataFrame:
    """Where to write each label: boxes at growing distance in 16 directions round its marker, taking the least cost
    (overlap with obstacles, names and edges; a leader crossing a mark; a name nearer another marker), most crowded
    markers first. ``anchors``: px, py, label; ``obstacles``: px, py, r (pixels, y down). Returns anchors with lx, ly,
    ex, ey and ``leader``."""
    obs = obstacles[["px", "py", "r"]].to_numpy(float) if len(obstacles) else np.zeros((0, 3))
    rows = list(anchors.itertuples(index=False))
    own = np.array([[a.px, a.py] for a in rows], float).reshape(-1, 2)
    crowd = [int((np.hypot(obs[:, 0] - a.px, obs[:, 1] - a.py) < 40).sum()) for a in rows]
    boxes: list[tuple] = []
    leaders: list[np.ndarray] = []   # circles of r 1 along the leaders already drawn
    placed: dict[int, dict] = {}
    angles = np.radians(np.arange(0, 360, 22.5))
    for i in sorted(range(len(rows)), key=lambda k: -crowd[k]):
        a = rows[i]
        w, h = text_width(str(a.label), font_size) + 4, font_size + 3
        others = np.delete(obs, np.where(np.hypot(obs[:, 0] - a.px, obs[:, 1] - a.py) < 1e-6)[0], 0)
        lead_obs = np.concatenate([others, *leaders]) if leaders else others
        best = None
        for dist in (NEAR, 16, 22, 30, 40, 54, 70, 90):
            for ang in angles:
                dx, dy = np.cos(ang), -np.sin(ang)
                # the box's nearest point sits ``dist`` from the marker along the direction
                cx = a.px + dx * (dist + w / 2 * abs(dx))
                cy = a.py + dy * (dist + h / 2 * abs(dy))
                box = (cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2)
                grown = _grow(box, clearance)
                # within ``clearance`` of an obstacle: a small cost; on it (within 1 px): fifty times more
                cost = _covered(grown, obs) + 50 * _covered(_grow(box, 1.0), obs)
                # on another name: dearer than any other fault; within ``clearance`` of one: a small cost
                cost += sum(_overlap(grown, b) * 2 + (OVERPRINT + 20 * _overlap(box, b) if _overlap(box, b) else 0)
                            for b in boxes)
                for ln in leaders:   # a box written across another name's leader
                    cost += 600 * int(((ln[:, 0] > grown[0]) & (ln[:, 0] < grown[2]) & (ln[:, 1] > grown[1])
                                      & (ln[:, 1] < grown[3])).any())
                cost += (max(0.0, -box[0]) + max(0.0, box[2] - width)) * h * 4
                cost += (max(0.0, -box[1]) + max(0.0, box[3] - height)) * w * 4
                if dist > NEAR:   # the leader, from just outside the marker to the box's edge
                    ex, ey = _leader_end(a.px, a.py, cx, cy, w, h)
                    u = np.array([ex - a.px, ey - a.py]) / (np.hypot(ex - a.px, ey - a.py) or 1.0)
                    cost += 400 * _segment_hits((a.px + 7 * u[0], a.py + 7 * u[1]), (ex, ey), lead_obs, boxes)
                elif len(own) > 1:   # the nearest marker to the name must be its own
                    near = np.hypot(np.clip(own[:, 0], box[0], box[2]) - own[:, 0],
                                    np.clip(own[:, 1], box[1], box[3]) - own[:, 1])
                    if np.delete(near, i).min() < near[i] + 2:
                        cost += 30
                key = (round(cost, 1), dist)
                if best is None or key < best[0]:
                    best = (key, cx, cy, box, dist)
            if best[0][0] == 0:
                break
        _, cx, cy, box, dist = best
        boxes.append(box)
        ex, ey = _leader_end(a.px, a.py, cx, cy, w, h)
        if dist > NEAR:
            n = max(2, int(np.hypot(ex - a.px, ey - a.py) / 2))
            leaders.append(np.stack([np.linspace(a.px, ex, n), np.linspace(a.py, ey, n), np.ones(n)], 1))
        placed[i] = {**a._asdict(), "lx": cx, "ly": cy, "ex": ex, "ey": ey, "leader": dist > NEAR}
    return pd.DataFrame([placed[i] for i in range(len(rows))])


def label_layers(frame: pd.DataFrame, *, x: str, y: str, label: str, xdom, ydom, width: float, height: float,
                 obstacles: pd.DataFrame | None = None, font_size: float = 11.0, color: str = "#333333",
                 r: float = 6.0) -> list:
    """Altair layers writing ``frame[label]`` beside each point (data units on the linear ``xdom`` / ``ydom``) where
    ``place_labels`` puts it, with a white halo and a thin leader to a name set further out; ``obstacles``: x, y (data)
    and r (pixels)."""
    if not len(frame):  # nothing to name (e.g. every point of the chart failed)
        return []
    px = lambda v: (np.asarray(v, dtype=float) - xdom[0]) / (xdom[1] - xdom[0]) * width    # noqa: E731
    py = lambda v: (ydom[1] - np.asarray(v, dtype=float)) / (ydom[1] - ydom[0]) * height   # noqa: E731
    obs = [pd.DataFrame({"px": px(frame[x]), "py": py(frame[y]), "r": r})]
    if obstacles is not None and len(obstacles):
        obs.append(pd.DataFrame({"px": px(obstacles["x"]), "py": py(obstacles["y"]), "r": obstacles["r"]}))
    placed = place_labels(pd.DataFrame({"px": px(frame[x]), "py": py(frame[y]), "label": frame[label].astype(str)}),
                          pd.concat(obs, ignore_index=True), width=width, height=height, font_size=font_size)
    lab = pd.DataFrame({"label": placed["label"], x: np.asarray(frame[x], float), y: np.asarray(frame[y], float),
                        "lx": xdom[0] + placed["lx"] / width * (xdom[1] - xdom[0]),
                        "ly": ydom[1] - placed["ly"] / height * (ydom[1] - ydom[0]),
                        "ex": xdom[0] + placed["ex"] / width * (xdom[1] - xdom[0]),
                        "ey": ydom[1] - placed["ey"] / height * (ydom[1] - ydom[0]), "leader": placed["leader"]})
    layers = []
    lead = lab[lab["leader"]]
    if len(lead):
        layers.append(alt.Chart(lead).mark_rule(color=color, strokeWidth=0.8).encode(
            x=f"{x}:Q", y=f"{y}:Q", x2="ex:Q", y2="ey:Q"))
    for halo in (dict(stroke="white", strokeWidth=3), {}):
        layers.append(alt.Chart(lab).mark_text(align="center", baseline="middle", fontSize=font_size, color=color,
                                               **halo).encode(x="lx:Q", y="ly:Q", text="label:N"))
    return layers


def line_obstacles(segments, *, xdom, ydom, width: float, height: float, r: float = 3.0) -> pd.DataFrame:
    """Obstacles along straight segments (x0, y0, x1, y1, data units): circles of radius ``r`` pixels every ``r``
    pixels, as a frame of x, y, r."""
    rows = []
    for x0, y0, x1, y1 in segments:
        if not all(np.isfinite([x0, y0, x1, y1])):
            continue
        dx = (x1 - x0) / (xdom[1] - xdom[0]) * width
        dy = (y1 - y0) / (ydom[1] - ydom[0]) * height
        n = max(1, int(np.ceil(np.hypot(dx, dy) / max(r, 1.0))))
        t = np.linspace(0.0, 1.0, n + 1)
        rows.append(pd.DataFrame({"x": x0 + t * (x1 - x0), "y": y0 + t * (y1 - y0), "r": r}))
    return pd.concat(rows, ignore_index=True) if rows else pd.DataFrame({"x": [], "y": [], "r": []})
