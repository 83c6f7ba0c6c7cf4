"""``python -m corrclust`` is the ``corrclust`` command."""

import sys

from corrclust.cli import main

sys.exit(main())
