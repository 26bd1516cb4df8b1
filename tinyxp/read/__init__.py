"""Reading runs back from their files: the index, the query language, rows and frames."""
