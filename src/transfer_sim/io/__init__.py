"""Cross-cutting I/O: atomic writes, text tables, number formatting, versions, progress.

One implementation of each; every other module uses these.
"""
