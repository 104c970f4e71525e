"""One repository per aggregate; the only place SQL for the clinical record is written.

Services reach them through :class:`dosemap.persistence.unit_of_work.UnitOfWork`, never by
building queries themselves.
"""
