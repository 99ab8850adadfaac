"""Similar-face search: the library's index (``similar``), what a search asks with
(``query_faces``) and the ``Library``'s search methods (``library_search``)."""
