"""Bulk writes for seeding many records in one unit of work (the demo clinic)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert

from dosemap.persistence.models import Base, ChartPoint
from dosemap.persistence.repositories._base import Repository

#: The columns of a chart point row, as :meth:`BulkWriter.insert` takes them.
CHART_POINT_COLUMNS = frozenset(c.key for c in ChartPoint.__mapper__.column_attrs)


class BulkWriter(Repository):
    """Inserts prepared records table by table, in foreign-key order."""

    def insert(self, rows: Sequence[Base], chart_points: Sequence[dict[str, Any]] = ()) -> None:
        """Stage and flush ``rows`` one table at a time (one flush per table), and insert
        ``chart_points`` (plain rows with every column, ~100 per session) in one statement."""
        by_table: dict[str, list[Base]] = {}
        for row in rows:
            by_table.setdefault(row.__table__.name, []).append(row)  # type: ignore[attr-defined]
        for point in chart_points:
            if point.keys() != CHART_POINT_COLUMNS:
                raise ValueError(f"chart point row needs exactly {sorted(CHART_POINT_COLUMNS)}")
        for table in Base.metadata.sorted_tables:
            if table.name in by_table:
                self.session.add_all(by_table[table.name])
                self.session.flush()
            if table is ChartPoint.__table__ and chart_points:
                self.session.execute(insert(ChartPoint), list(chart_points))
