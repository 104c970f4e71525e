"""The one error a photo can fail with, carrying a machine-readable ``code``."""

from __future__ import annotations

from dosemap.domain.errors import InvalidInputError

PHOTO_ERROR_CODES = (
    "not_an_image",
    "unsupported_format",
    "truncated",
    "too_many_pixels",
    "no_face",
    "multiple_faces",
    "face_too_small",
    "head_pose",
    "orientation",
    "eyes_closed",
)


class PhotoError(InvalidInputError):
    """A photo that cannot be used, and why.

    Parameters
    ----------
    code
        One of :data:`PHOTO_ERROR_CODES`, for batch reports and tests.
    message
        What is wrong, in one short clause, naming the measured value.
    allowed
        What would be accepted.
    source
        The file name, when there is one.
    """

    def __init__(
        self, code: str, message: str, allowed: str | None = None, *, source: str | None = None
    ) -> None:
        if code not in PHOTO_ERROR_CODES:
            raise ValueError(f"unknown photo error code {code!r}")
        self.code = code
        super().__init__(f"photo {source}" if source else "photo", message, allowed)
