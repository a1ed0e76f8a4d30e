"""The job kinds this application runs, in one place, as Oban's queues are configured: the server starts a
claim loop and a worker pool for each of their queues, and hands each worker these performers."""

from __future__ import annotations

from sfa.analysis.job import ANALYSIS_KIND
from sfa.integrations.downloader.job import DOWNLOAD_KIND
from sfa.jobs import JobKinds
from sfa.separation.job import PROCESSING_KIND

JOB_KINDS = JobKinds(DOWNLOAD_KIND, PROCESSING_KIND, ANALYSIS_KIND)
