"""Presentation of what read/ returns: text tables and run descriptions."""
