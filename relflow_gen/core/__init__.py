"""Shared by the compiler and the runtime: the type table, the runtime schema metadata, the exception root.

Imports nothing else of the project; the generated packages load it through the runtime.
"""
