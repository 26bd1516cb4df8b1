"""Submission to HPC schedulers: one table row per scheduler, job scripts, queued runs."""
