"""Records storage: SQLAlchemy models, repositories behind a unit of work, audit log, migrations.

Importing the package imports nothing heavy: callers import the module they need
(``dosemap.persistence.unit_of_work``, ``dosemap.persistence.db`` …).
"""
