"""The Jobs page in Chromium: from the navigation to a job, its figures, and a failed item."""

from __future__ import annotations

import pytest
from conftest import LiveServer

pytestmark = pytest.mark.browser


def test_a_job_page_leads_to_its_failed_items(browser, tmp_path, monkeypatch, shots):
    from jobs_fixtures import case_with_timeouts

    case, job = case_with_timeouts(tmp_path, monkeypatch)
    case.close()
    with LiveServer(tmp_path / "case") as live:
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        context.route("**/*", lambda r: r.continue_() if r.request.url.startswith(live.url) else r.abort())
        page = context.new_page()
        page.goto(live.url + "/")
        page.get_by_role("link", name="Jobs").click()
        page.locator(f'a[href="/jobs/{job.id}"]').click()
        assert page.locator("#job-state").inner_text().startswith("Done")
        assert page.locator("#job-done").inner_text() == "14"
        assert page.locator("svg.chart").count() == 1
        page.screenshot(path=str(shots / "job.png"), full_page=True)
        page.locator("#stage-ingest\\.timeout + table a").first.click()
        page.wait_for_url(f"{live.url}/items/**")
        assert "longer than --item-timeout" in page.content()
        context.close()
