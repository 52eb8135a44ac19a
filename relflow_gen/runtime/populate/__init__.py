"""make() and populate(): key sources, makers, the jobs table, worker processes and their writes.

The layer works against a :class:`.host.PopulateHost` (a table host that knows the registered makers),
which the pipeline implements. :mod:`.auto` holds the imported/computed tier classes.
"""
