"""FaceOrganizer: turn a folder of photos into people, offline."""

__version__ = "0.1.0"
