"""The library: the ``Library`` facade the CLI and the GUI open (``facade``), its file
(``file``), the shared face engines (``engines``) and keeping the file whole (``maintenance``)."""

from faceorganizer.services.library.facade import Library, default_library_path

__all__ = ["Library", "default_library_path"]
