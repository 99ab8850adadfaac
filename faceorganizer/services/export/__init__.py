"""Exporting the library: a folder per person or a table of faces (``export``), and printable
contact sheets (``contact_sheet``)."""
