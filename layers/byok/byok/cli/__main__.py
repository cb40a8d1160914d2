import sys

from byok.cli import main

sys.exit(main())
