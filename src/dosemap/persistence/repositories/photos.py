"""Photo records (the files live in the photo store) and their outcome measurements."""

from __future__ import annotations

from dosemap.persistence.models import PhotoRecord
from dosemap.persistence.repositories._base import ScopedRepository


class PhotoRepository(ScopedRepository[PhotoRecord]):
    """A clinic's photo records; measurements are added through :meth:`add`."""

    model = PhotoRecord
