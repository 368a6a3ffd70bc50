"""`python -m benchmarks`: the one-table performance benchmark (see benchmarks/run.py)."""

from benchmarks.run import main

main()
