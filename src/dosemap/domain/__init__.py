"""The pure core: dosing, reference library, atlas, planning, safety.

Nothing in this package does I/O, reads settings, or imports a web, database or image library.
The rule is enforced by import-linter (see ``pyproject.toml``).
"""
