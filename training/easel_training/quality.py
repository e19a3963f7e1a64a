"""What a painter sees, as numbers: generated images against the real
photos of the same label maps. Per class, the distance between the mean
colours of its pixels (CIE76 ΔE in Lab); sharpness, the mean squared
Laplacian of the grey image; streaks, the mean squared horizontal over
vertical gradient. The image-level figures are reported generated over real,
so 1 means "as the photos".
"""

from __future__ import annotations

import numpy as np

# sRGB (D65) → XYZ, and the D65 white point.
_RGB_TO_XYZ = np.array([[0.4124, 0.3576, 0.1805],
                        [0.2126, 0.7152, 0.0722],
                        [0.0193, 0.1192, 0.9505]])
_WHITE = np.array([0.95047, 1.0, 1.08883])


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """(..., 3) uint8 or [0, 1] floats → (..., 3) L*a*b*."""
    c = rgb.astype(np.float64)
    if rgb.dtype == np.uint8:
        c = c / 255.0
    linear = np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)
    xyz = linear @ _RGB_TO_XYZ.T / _WHITE
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]),
                     200 * (f[..., 1] - f[..., 2])], axis=-1)


def _grey(rgb: np.ndarray) -> np.ndarray:
    return rgb.astype(np.float64) @ np.array([0.299, 0.587, 0.114])


def laplacian_energy(rgb: np.ndarray) -> float:
    """Mean squared 4-neighbour Laplacian of the grey image (inner pixels)."""
    g = _grey(rgb)
    lap = g[1:-1, :-2] + g[1:-1, 2:] + g[:-2, 1:-1] + g[2:, 1:-1] - 4 * g[1:-1, 1:-1]
    return float(np.mean(lap ** 2))


def gradient_energy(rgb: np.ndarray) -> tuple[float, float]:
    """(mean squared x-gradient, mean squared y-gradient) of the grey image."""
    g = _grey(rgb)
    return float(np.mean(np.diff(g, axis=1) ** 2)), float(np.mean(np.diff(g, axis=0) ** 2))


class Appearance:
    """Accumulates pairs (label map, real photo, generated image) of one size."""

    def __init__(self, classes: int):
        self.classes = classes
        self.lab_sum = {kind: np.zeros((classes, 3)) for kind in ("real", "generated")}
        self.pixels = np.zeros(classes)
        self.sharp = {"real": 0.0, "generated": 0.0}
        self.grad = {"real": np.zeros(2), "generated": np.zeros(2)}
        self.images = 0

    def add(self, label: np.ndarray, real: np.ndarray, generated: np.ndarray) -> None:
        keep = label < self.classes
        counts = np.bincount(label[keep], minlength=self.classes)
        self.pixels += counts
        for kind, rgb in (("real", real), ("generated", generated)):
            lab = srgb_to_lab(rgb)[keep]
            for c in range(3):
                self.lab_sum[kind][:, c] += np.bincount(label[keep], weights=lab[:, c],
                                                        minlength=self.classes)
            self.sharp[kind] += laplacian_energy(rgb)
            self.grad[kind] += gradient_energy(rgb)
        self.images += 1

    def result(self, names: list[str] | None = None) -> dict:
        present = self.pixels > 0
        mean = {k: v / np.maximum(self.pixels, 1)[:, None] for k, v in self.lab_sum.items()}
        delta_e = np.linalg.norm(mean["real"] - mean["generated"], axis=1)
        names = names or [f"class {i}" for i in range(self.classes)]
        per_class = {names[i]: round(float(delta_e[i]), 2) for i in range(self.classes)
                     if present[i]}
        streak = {k: v[0] / max(v[1], 1e-12) for k, v in self.grad.items()}
        return {
            "images": self.images,
            "colour_delta_e": per_class,
            "colour_delta_e_mean": round(float(delta_e[present].mean()), 2) if present.any() else None,
            "colour_delta_e_max": round(float(delta_e[present].max()), 2) if present.any() else None,
            "sharpness_ratio": round(self.sharp["generated"] / max(self.sharp["real"], 1e-12), 3),
            "streak_ratio": round(streak["generated"] / max(streak["real"], 1e-12), 3),
        }


# ------------------------------------------------- reference-free judges
# For maps no photo shows (painted, opened from photographs): what the image
# alone says, against the renderer's photos of other maps where a reference
# is needed (issue 27).

ANISOTROPY_SIDE = 256
DETAIL_ERODE = 3
DETAIL_MIN_PIXELS = 400


def anisotropy(rgb: np.ndarray) -> float:
    """mean((∂x)²) / mean((∂y)²) of the grey image at 256×256 (forward
    differences): above 1, vertical streaks; a photo's sits near or under 1."""
    from PIL import Image

    image = Image.fromarray(np.asarray(rgb, dtype=np.uint8))
    if image.size != (ANISOTROPY_SIDE, ANISOTROPY_SIDE):
        image = image.resize((ANISOTROPY_SIDE, ANISOTROPY_SIDE), Image.BICUBIC)
    dx, dy = gradient_energy(np.asarray(image))
    return dx / max(dy, 1e-12)


def class_detail(rgb: np.ndarray, label: np.ndarray, classes: int) -> dict[int, float]:
    """Per class present: the mean squared 5-point Laplacian of the grey
    image inside the class's region eroded by 3 px, where at least 400 px
    are left."""
    from scipy import ndimage

    lap = ndimage.laplace(_grey(rgb)) ** 2
    out = {}
    square = np.ones((3, 3), bool)
    for c in np.unique(label):
        if c >= classes:
            continue
        inner = ndimage.binary_erosion(label == c, structure=square, iterations=DETAIL_ERODE)
        if inner.sum() >= DETAIL_MIN_PIXELS:
            out[int(c)] = float(lap[inner].mean())
    return out


class ReferenceFree:
    """Accumulates (label map, generated image) pairs: anisotropy per image
    and detail per class, to compare with `Detail` of the renderer's photos."""

    def __init__(self, classes: int):
        self.classes = classes
        self.anisotropy: list[float] = []
        self.detail = Detail(classes)

    def add(self, label: np.ndarray, generated: np.ndarray) -> None:
        self.anisotropy.append(anisotropy(generated))
        self.detail.add(label, generated)

    def result(self, reference: "Detail | None", names: list[str] | None = None) -> dict:
        names = names or [f"class {i}" for i in range(self.classes)]
        a = np.array(self.anisotropy)
        out = {
            "images": len(self.anisotropy),
            "anisotropy_median": round(float(np.median(a)), 3) if a.size else None,
            "anisotropy_p90": round(float(np.percentile(a, 90)), 3) if a.size else None,
            "detail": {names[c]: round(v, 2) for c, v in self.detail.medians().items()},
        }
        if reference is not None:
            ref = reference.medians()
            out["detail_ratio"] = {names[c]: round(v / ref[c], 3)
                                   for c, v in self.detail.medians().items()
                                   if ref.get(c, 0) > 0}
        return out


class Detail:
    """Per-class detail (`class_detail`) of a set of images; the median over
    the images that have the class."""

    def __init__(self, classes: int):
        self.classes = classes
        self.values: dict[int, list[float]] = {}

    def add(self, label: np.ndarray, rgb: np.ndarray) -> None:
        for c, v in class_detail(rgb, label, self.classes).items():
            self.values.setdefault(c, []).append(v)

    def medians(self) -> dict[int, float]:
        return {c: float(np.median(v)) for c, v in sorted(self.values.items())}
