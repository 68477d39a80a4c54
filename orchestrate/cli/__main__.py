"""`python -m orchestrate.cli`, the same as the `orc` script."""

from orchestrate.cli import main

main()
