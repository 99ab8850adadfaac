"""Face names in XMP: regions read from photos and written to sidecars (``regions``), and names
between the library and XMP both ways (``sync``)."""
