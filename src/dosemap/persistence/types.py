"""Column types that behave the same on SQLite and PostgreSQL.

``Amount``
    A dose or volume as ``Decimal``. PostgreSQL stores ``NUMERIC``; SQLite has no exact decimal,
    so it stores integer ten-thousandths, which keeps ``SUM`` exact there too.
``UTCDateTime``
    Timezone-aware timestamps, stored in UTC; naive datetimes are refused.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Numeric
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator, TypeEngine

AMOUNT_SCALE = 4
_QUANTUM = Decimal(1).scaleb(-AMOUNT_SCALE)

JSONType = JSON().with_variant(JSONB(), "postgresql")


class Amount(TypeDecorator[Decimal]):
    """An exact decimal with 4 places (units, µL, mL)."""

    impl = Numeric(18, AMOUNT_SCALE)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(BigInteger())
        return dialect.type_descriptor(Numeric(18, AMOUNT_SCALE, asdecimal=True))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        value = Decimal(value)
        if value != value.quantize(_QUANTUM):
            raise ValueError(f"amount {value} has more than {AMOUNT_SCALE} decimal places")
        if dialect.name == "sqlite":
            return int(value.scaleb(AMOUNT_SCALE))
        return value

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        if dialect.name == "sqlite":
            return Decimal(int(value)).scaleb(-AMOUNT_SCALE).normalize() + 0
        return Decimal(value).normalize() + 0

    @property
    def python_type(self) -> type[Decimal]:
        return Decimal


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware timestamp, stored and returned in UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> Any:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("timestamps must be timezone-aware")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    @property
    def python_type(self) -> type[datetime]:
        return datetime
