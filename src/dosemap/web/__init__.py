"""The clinic web app: FastAPI, server-rendered Jinja2 pages with htmx, and ``/api/v1``.

A shell over :mod:`dosemap.services`: it reads requests, checks who may do what (one table,
:mod:`dosemap.web.permissions`, enforced by :func:`dosemap.web.security.authorise`) and renders
what the services return. ``create_app`` in :mod:`dosemap.web.app` builds it.
"""
