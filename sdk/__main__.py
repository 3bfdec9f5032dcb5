"""``python -m sdk``: see ``sdk.cli``."""

from sdk.cli import main

raise SystemExit(main())
