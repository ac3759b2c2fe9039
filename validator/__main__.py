from __future__ import annotations

from validator.cli import main

raise SystemExit(main())
