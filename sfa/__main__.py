import sys

from sfa.cli import main

sys.exit(main())
