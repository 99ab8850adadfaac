"""People and the user's edits: every edit with undo and redo (``edits``), grouping faces into
people (``clustering``) and what a scan or regroup placed as one undoable entry (``auto_log``)."""
