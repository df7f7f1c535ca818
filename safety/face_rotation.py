"""Rotated copies for face detectors that learned heads within about ±20° of upright.

A detector runs on a copy of the image turned by some angle; what it finds there is mapped
back to the original as the upright bounds of the turned box.
"""

from __future__ import annotations

import numpy as np

__all__ = ["rotate_image", "unrotate_boxes"]


def rotate_image(rgb: np.ndarray, angle: float) -> tuple[np.ndarray, np.ndarray]:
    """A copy rotated by `angle` degrees about its centre (same size, edges reflected), and
    the affine matrix that maps its pixels back to the original's."""
    import cv2

    h, w = rgb.shape[:2]
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    rotated = cv2.warpAffine(rgb, matrix, (w, h), borderMode=cv2.BORDER_REFLECT)
    return rotated, cv2.invertAffineTransform(matrix)


def unrotate_boxes(boxes: np.ndarray, inverse: np.ndarray) -> np.ndarray:
    """Boxes (x1, y1, x2, y2) found on a rotated copy, as upright bounds in the original."""
    if not len(boxes):
        return boxes
    corners = np.stack([boxes[:, [0, 1]], boxes[:, [2, 1]], boxes[:, [0, 3]], boxes[:, [2, 3]]], axis=1)
    mapped = corners @ inverse[:, :2].T + inverse[:, 2]
    return np.concatenate([mapped.min(axis=1), mapped.max(axis=1)], axis=1)
