"""The back end: runtime metadata -> view-models -> templates -> ``{path: text}``, and ``write``.

:mod:`.package` emits a pipeline package, :mod:`.stubs` the make() scaffolds, :mod:`.sql` the DDL
(from the runtime backends), :mod:`.write` is the only module that touches the file system.
"""
