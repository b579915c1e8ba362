"""Job routes: a job's owner polls its record here (the Location of every 202)."""

from __future__ import annotations

from uuid import UUID

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import FromPath

from market_ai.domain.job_service import JobService
from market_ai.entrypoints.http.auth import SignedIn
from market_ai.entrypoints.http.conditional import conditional_get
from market_ai.entrypoints.http.job_schemas import JobOut
from market_ai.entrypoints.http.problem_docs import problem_responses

Jobs = NamedDependency[JobService]


class JobController(Controller):
    """The signed-in user's jobs; another user's id reads as 404."""

    path = "/jobs"
    tags = ["jobs"]  # noqa: RUF012 - Litestar reads this class attribute

    @get(
        "/{job_id:uuid}",
        cache=False,
        responses=problem_responses(404),
        middleware=[conditional_get],
    )
    async def get_job(self, jobs: Jobs, request: SignedIn, job_id: FromPath[UUID]) -> JobOut:
        """Status, attempt, result or last error; poll until succeeded or dead."""
        return JobOut.of(await jobs.get(request.user, job_id))
