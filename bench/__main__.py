"""`python -m bench`: run the benchmark, write bench/results/latest.{json,md}, print the table."""

from bench.run import main

raise SystemExit(main())
