"""Screenshots of the main pages, from the demo data: ``python -m tests.browser.screenshots``.

Builds a throw-away SQLite database with ``seed_demo``, serves it on a free loopback port
and drives Debian's Chromium through a customer's and an agent's day: the portal list, the
filing form with its promised response time, the ticket, the contract page, the agent queue,
the agent's ticket page with a macro picked from the reply box, and the manager's time
report and SLA dashboard, and the admin's calendar editor. PNGs go to
``docs/screenshots/`` (or ``--out``).
"""

from __future__ import annotations

import argparse
import os
import socket
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _prepare_environment(data_dir: str, port: int) -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "supportdesk.settings",
            "DEBUG": "1",
            "DATA_DIR": data_dir,
            "SITE_PORT": str(port),
            "CELERY_TASK_ALWAYS_EAGER": "1",
            "EMAIL_URL": "memorymail://",
            "DJANGO_ALLOW_ASYNC_UNSAFE": "true",  # Playwright's loop shares this thread
        }
    )
    for name in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"):
        os.environ.pop(name, None)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tenant", default="softone", help="demo tenant slug (softone)")
    parser.add_argument("--out", default=str(ROOT / "docs" / "screenshots"))
    args = parser.parse_args(argv)

    port = _free_port()
    with tempfile.TemporaryDirectory(prefix="supportdesk-shots-") as data_dir:
        _prepare_environment(data_dir, port)
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        from django.core.management import call_command

        call_command("migrate", verbosity=0, interactive=False)
        call_command("seed_demo", stdout=open(os.devnull, "w"))  # noqa: SIM115
        take(tenant=args.tenant, port=port, out=Path(args.out))
    return 0


def take(*, tenant: str, port: int, out: Path) -> None:
    from django.contrib.staticfiles.handlers import StaticFilesHandler
    from django.test.testcases import LiveServerThread
    from playwright.sync_api import Page, sync_playwright

    from tests.browser.conftest import launch

    server = LiveServerThread("localhost", StaticFilesHandler, port=port)
    server.daemon = True
    server.start()
    server.is_ready.wait()
    if server.error:
        raise server.error
    site = f"http://{tenant}.localhost:{port}"
    out.mkdir(parents=True, exist_ok=True)

    def shot(page: Page, name: str) -> None:
        page.wait_for_load_state("networkidle")
        page.evaluate("window.scrollTo(0, 0)")  # sticky boxes sit where a reader starts
        page.screenshot(path=str(out / f"{name}.png"), full_page=True)
        print(f"  {out / name}.png")

    def login(page: Page, username: str) -> None:
        page.goto(f"{site}/accounts/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", "demo")
        page.locator("main button[type=submit]").click()
        page.wait_for_load_state()

    try:
        with sync_playwright() as playwright:
            browser = launch(playwright)
            desktop = {"viewport": {"width": 1280, "height": 900}}
            customer = browser.new_context(**desktop).new_page()  # type: ignore[arg-type]
            login(customer, f"{tenant}-named")
            customer.goto(f"{site}/portal/?show=all")
            shot(customer, "portal-list")

            customer.goto(f"{site}/portal/new/")
            customer.fill("#id_subject", "Payroll export stops at 99 rows")
            customer.select_option("#id_category", "incident")
            radios = customer.locator("input[name=priority]")
            if radios.count() > 2:
                radios.nth(2).check()  # the second priority of the tenant's scheme
            customer.fill(
                "#id_description", "Since the update the payroll export stops at 99 rows."
            )
            customer.wait_for_timeout(400)  # the htmx preview refresh
            shot(customer, "portal-new-ticket")
            customer.locator("#ticket-form button[type=submit]").click()
            customer.wait_for_load_state()
            ticket_url = customer.url

            agent = browser.new_context(**desktop).new_page()  # type: ignore[arg-type]
            login(agent, f"{tenant}-agent")
            agent.goto(f"{site}/agent/queue/")
            shot(agent, "agent-queue")
            ticket_id = ticket_url.rstrip("/").rsplit("/", 1)[1]
            agent.goto(f"{site}/agent/tickets/{ticket_id}/")
            agent.fill(
                "textarea[name=body]", "Thank you. Please install version 4.2 and try again."
            )
            agent.locator("form[action$='/reply/'] button[type=submit]").click()
            agent.wait_for_load_state()
            shot(agent, "agent-ticket")
            # A macro picked from the reply box: "/" and a few letters search them.
            agent.goto(f"{site}/agent/tickets/{ticket_id}/")
            agent.locator("textarea[name=body]").press_sequentially("/")
            agent.locator("#macro-list li").first.wait_for()
            shot(agent, "agent-macro")

            customer.goto(ticket_url)
            shot(customer, "portal-ticket")
            customer.goto(f"{site}/portal/contract/")
            shot(customer, "portal-contract")

            manager = browser.new_context(**desktop).new_page()  # type: ignore[arg-type]
            login(manager, f"{tenant}-manager")
            manager.goto(f"{site}/reports/time/")
            shot(manager, "manager-time-report")
            manager.goto(f"{site}/reports/?period=range&start=2026-01-01&end=2026-12-31")
            shot(manager, "manager-dashboard")

            admin = browser.new_context(**desktop).new_page()  # type: ignore[arg-type]
            login(admin, f"{tenant}-admin")
            admin.goto(f"{site}/manage/sla/")
            admin.locator("a[href*='/manage/sla/calendars/']").first.click()
            admin.wait_for_load_state()
            shot(admin, "admin-calendar")

            phone = browser.new_context(viewport={"width": 390, "height": 844}).new_page()
            login(phone, f"{tenant}-named")
            phone.goto(f"{site}/portal/new/")
            shot(phone, "portal-new-ticket-phone")
            browser.close()
    finally:
        server.terminate()


if __name__ == "__main__":
    raise SystemExit(main())
