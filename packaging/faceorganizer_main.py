"""The bundle's entry point: the same command line as the `faceorganizer` script."""

import sys

from faceorganizer.cli import main

if __name__ == "__main__":
    sys.exit(main())
