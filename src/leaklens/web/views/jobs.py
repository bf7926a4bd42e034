"""The Jobs pages: every run of ingest, verify and documents, and one job's figures, throughput and
failed items by stage. Thin over `leaklens.jobs` (the reads the CLI shares)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import HTMLResponse, JSONResponse

from ... import jobs
from ..job_chart import throughput_svg

router = APIRouter()

JOB_ID = r"^[0-9A-Za-z-]{1,64}$"


def _case(request: Request):
    return request.app.state.pool.get()


@router.get("/jobs", response_class=HTMLResponse, include_in_schema=False)
def jobs_page(request: Request) -> HTMLResponse:
    listed = jobs.list_jobs(_case(request))
    return HTMLResponse(request.app.state.render.page(request, "jobs.html", jobs=listed))


def _job_or_404(request: Request, job_id: str) -> dict:
    job = jobs.job_detail(_case(request), job_id)
    if job is None:
        raise HTTPException(404, "No such job.")
    return job


@router.get("/jobs/{job_id}", response_class=HTMLResponse, include_in_schema=False)
def job_page(request: Request, job_id: str) -> HTMLResponse:
    job = _job_or_404(request, job_id)
    return HTMLResponse(
        request.app.state.render.page(request, "job.html", job=job, chart=throughput_svg(job["samples"] or []))
    )


@router.get("/api/jobs")
def jobs_api(request: Request) -> JSONResponse:
    """Every job of the case, newest first (without their samples)."""
    return JSONResponse([{k: v for k, v in j.items() if k != "samples"} for j in jobs.list_jobs(_case(request))])


@router.get("/api/jobs/{job_id}")
def job_api(request: Request, job_id: str) -> JSONResponse:
    """One job: its figures, throughput samples, and failed items by stage."""
    return JSONResponse(_job_or_404(request, job_id))
