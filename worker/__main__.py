"""``python -m worker`` is the ``chatmem`` command."""

from worker.cli import main

raise SystemExit(main())
