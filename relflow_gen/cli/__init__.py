"""The ``relflow-gen`` command line: check, format, build, stubs, run."""
