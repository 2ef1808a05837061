"""``python -m benchmarks``: run every workload, print the table, save the plot."""

from .run import main

if __name__ == "__main__":
    main()
