"""The bundle's entry point: the same command line as the `faceorganizer` script."""

import os
import sys


def restore_library_path() -> None:
    """PyInstaller points LD_LIBRARY_PATH at the bundle for this process (the loader has read it
    already); programs the app starts (the file manager for Help > Open log folder, a browser)
    must get the user's own value back, or they load the bundle's libraries."""
    original = os.environ.pop("LD_LIBRARY_PATH_ORIG", None)
    if original is not None:
        os.environ["LD_LIBRARY_PATH"] = original
    else:
        os.environ.pop("LD_LIBRARY_PATH", None)


if __name__ == "__main__":
    restore_library_path()
    from faceorganizer.cli import main

    sys.exit(main())
