"""Nothing under tests/golden is a test module: expected packages and scaffolds are data."""

collect_ignore_glob = ["*/*"]
