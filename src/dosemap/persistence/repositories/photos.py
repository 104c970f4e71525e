"""Photo records (the files live in the photo store) and their outcome measurements."""

from __future__ import annotations

from dosemap.persistence.models import Photo
from dosemap.persistence.repositories._base import ScopedRepository


class PhotoRepository(ScopedRepository[Photo]):
    """A clinic's photo records; measurements are added through :meth:`add`."""

    model = Photo
