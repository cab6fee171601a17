"""Data for the jobs: CSV reading, windowing, scaling, tokenisation, bundled datasets.

Imports only the standard library and NumPy (and lstmkit.errors)."""

__all__: list[str] = []  # the modules are imported by name: lstmkit.data.csv, …
