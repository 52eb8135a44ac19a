import sys

from relflow_gen.cli.main import main

sys.exit(main())
