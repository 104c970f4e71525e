"""Photos: intake, face landmarks, capture quality, the iris millimetre scale, before/after
alignment and skin metrics. A shell around the pure geometry in
:mod:`dosemap.domain.photo_geometry`; OpenCV, MediaPipe, Pillow and scikit-image live here only.

Coordinates: every landmark or point array is ``(x, y)`` in pixels of the named image, x to the
right and y down (OpenCV and Pillow order). numpy image arrays are indexed ``[row, column]``.
"""
