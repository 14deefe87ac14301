"""Batch jobs: records and logs in the database, a worker pool, results kept with fsspec."""

from openeo_dedl.jobs.service import Download, JobFailed, JobService
from openeo_dedl.jobs.signing import UrlSigner

__all__ = ["Download", "JobFailed", "JobService", "UrlSigner"]
