"""Scanning folders into the library: finding photo files (``files``), running the engine and
storing what it found (``scanner``), and carrying decisions over to a re-read photo's faces
(``same_face``)."""
