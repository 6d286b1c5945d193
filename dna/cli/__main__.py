"""`python -m dna.cli`: the `dna` command."""
from dna.cli.main import main

main()
