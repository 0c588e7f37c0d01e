"""`python -m gates`: see gates/run.py and gates/README.md."""

from gates.run import main

raise SystemExit(main())
