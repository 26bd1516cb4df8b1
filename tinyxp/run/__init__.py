"""The life of one run in this process: its directory, logger, signals, git state and job."""
