"""Connections and values: URL parsing, the connection (transactions, cursors), and the column codecs
that check and encode values for a backend (``runtime/backends``)."""
