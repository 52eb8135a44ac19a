"""The front end: parse -> lower -> resolve -> validate, and the IR -> runtime metadata translation.

Each stage is a module with a pure function; :mod:`.frontend` is the only reader of files.
"""
