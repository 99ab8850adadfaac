"""Test helpers: shared photos, fakes, scanned libraries, markers by need (``needs``)."""
