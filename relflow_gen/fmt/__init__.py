"""``relflow-gen format``: the canonical layout of `.rf` files, comments kept."""
