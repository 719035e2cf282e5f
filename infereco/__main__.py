from infereco.cli.main import main

raise SystemExit(main())
