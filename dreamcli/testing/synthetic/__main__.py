"""`python -m dreamcli.testing.synthetic --out DIR --sessions N --seed S [--size-kb K]`."""

from dreamcli.testing.synthetic.generate import main

raise SystemExit(main())
