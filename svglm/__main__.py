"""`python -m svglm` is the same as the `svglm` command."""

from svglm.cli import main

main()
