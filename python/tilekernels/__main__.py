from tilekernels.cli import main

raise SystemExit(main())
