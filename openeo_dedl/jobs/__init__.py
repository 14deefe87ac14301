"""Batch jobs: records and logs in the database, results kept with fsspec, the service the API
uses (:class:`JobService`) and what it answers (:mod:`openeo_dedl.jobs.info`)."""

from openeo_dedl.jobs.info import JobInfo, LogPage, LogRecord
from openeo_dedl.jobs.service import Download, JobFailed, JobService
from openeo_dedl.jobs.signing import UrlSigner
from openeo_dedl.jobs.stac import result_item
from openeo_dedl.jobs.store import LOG_LEVELS

__all__ = [
    "LOG_LEVELS",
    "Download",
    "JobFailed",
    "JobInfo",
    "JobService",
    "LogPage",
    "LogRecord",
    "UrlSigner",
    "result_item",
]
