"""Use cases over the clinical record (patients, sessions, vials, follow-ups, audit, backup).

Every function takes a :class:`~dosemap.persistence.db.Database`, the clinic it acts in, and
(for writes) who acts; each write is one transaction that also appends its audit entry.
The web app and the CLI both sit on these functions.
"""
