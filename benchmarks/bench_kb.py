"""Knowledge-base search and suggestions on PostgreSQL, 10,000 articles per tenant.

Run against its own PostgreSQL database (``make bench-kb`` creates and seeds it once)::

    export DATABASE_URL=postgres://postgres@127.0.0.1:5432/supportdesk_bench_kb
    .venv/bin/python -m benchmarks.bench_kb [process] [http]

Seeds two tenants of 10,000 articles each (40% English, 30% Swedish, 20% Dutch, 10% without a
language; public, customer, plan and internal articles), then measures in-process (the
service the views call) and over HTTP (gunicorn, three sync workers, on a loopback port,
8 connections). The baseline is the previous query shape, run in the same process: every
article's text parsed with ``to_tsvector`` in the reader's language and ranked, plus a title
substring match. Wall-clock timings; no test asserts them.
"""

from __future__ import annotations

import os
import random
import sys
from collections.abc import Callable
from urllib.parse import urlencode

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

from django.db import connection, models  # noqa: E402
from django.test import Client  # noqa: E402
from django_scopes import scope, scopes_disabled  # noqa: E402

from benchmarks.http_load import load, load_average, served, timed  # noqa: E402
from contracts.models import Contract, Feature, PlanFeature, SupportPlan  # noqa: E402
from knowledgebase.managers import ArticleQuerySet, search_terms  # noqa: E402
from knowledgebase.models import Article, Visibility  # noqa: E402
from knowledgebase.services import article_suggest, articles_for_contact  # noqa: E402
from supportdesk.models import Tenant  # noqa: E402
from tests.conftest import build_cast  # noqa: E402

ARTICLES = 10_000
RUNS = 60

TOPICS = {
    "en": "password login invoice export import printer report calendar backup sync upload "
    "license account email notification integration dashboard permission webhook token "
    "payment refund subscription contract update installation network proxy certificate "
    "database timeout error crash mobile tablet browser language timezone holiday archive",
    "sv": "lösenord inloggning faktura export import skrivare rapport kalender säkerhetskopia "
    "synkronisering uppladdning licens konto epost avisering integration behörighet betalning "
    "återbetalning abonnemang avtal uppdatering installation nätverk certifikat databas "
    "felmeddelande krasch mobil surfplatta webbläsare språk tidszon helgdag arkiv",
    "nl": "wachtwoord inloggen factuur export import printer rapport agenda back-up "
    "synchronisatie uploaden licentie account e-mail melding koppeling rechten betaling "
    "terugbetaling abonnement contract update installatie netwerk certificaat database "
    "foutmelding crash mobiel tablet browser taal tijdzone feestdag archief",
}
QUERIES = [
    ("en", "I forgot my password and cannot log in"),
    ("en", "Export of the monthly report fails after the update"),
    ("en", "invoice payment refund"),
    ("sv", "Jag har glömt mitt lösenord"),
    ("nl", "factuur klopt niet na de update"),
    ("en", "passw"),  # a word still being typed
]


def _filler(rng: random.Random) -> list[str]:
    syllables = "ka lo mi ne sa tu ri po de va ga le no fi ru se ma to bi ke".split()
    return ["".join(rng.choices(syllables, k=rng.randint(2, 4))) for _ in range(3000)]


def seed() -> None:
    with scopes_disabled():
        if Tenant.objects.filter(slug="tenant-a").exists():
            return
    print("seeding 2 x 10,000 articles ...", flush=True)
    cast = build_cast()
    rng = random.Random(18)
    filler = _filler(rng)
    for tenant in (cast.tenant_a, cast.tenant_b):
        with scope(tenant=tenant):
            centre = Feature.objects.create(
                tenant=tenant, key="knowledge_centre", name="Knowledge centre"
            )
            plans = [SupportPlan.objects.create(tenant=tenant, name=n) for n in ("Silver", "Gold")]
            for plan in plans:
                PlanFeature.objects.create(tenant=tenant, plan=plan, feature=centre)
            if tenant == cast.tenant_a:
                Contract.objects.create(
                    tenant=tenant, organisation=cast.org_a, plan=plans[0], starts_on="2020-01-01"
                )
            articles = []
            for i in range(ARTICLES):
                language = rng.choices(["en", "sv", "nl", ""], [4, 3, 2, 1])[0]
                topics = TOPICS[language or "en"].split()
                words = rng.sample(topics, 3)
                body = " ".join(
                    rng.choice(words) if rng.random() < 0.08 else rng.choice(filler)
                    for _ in range(rng.randint(80, 250))
                )
                articles.append(
                    Article(
                        tenant=tenant,
                        title=f"{words[0].capitalize()} and {words[1]} ({i})",
                        summary=f"About {words[0]}, {words[1]} and {words[2]}.",
                        body=body,
                        language=language,
                        visibility=rng.choices(
                            [Visibility.PUBLIC, Visibility.CUSTOMERS, Visibility.PLANS, "internal"],
                            [4, 3, 2, 1],
                        )[0],
                    )
                )
            created = Article.objects.bulk_create(articles, batch_size=1000)
            through = Article.plans.through
            through.objects.bulk_create(
                [
                    through(article_id=a.pk, supportplan_id=plans[a.pk % 2].pk)
                    for a in created
                    if a.visibility == Visibility.PLANS
                ],
                batch_size=2000,
            )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE knowledgebase_article")


def old_search(qs: ArticleQuerySet, text: str, language: str = "en") -> ArticleQuerySet:
    """The previous PostgreSQL query shape (before the stored vector), as the baseline."""
    from django.contrib.postgres.search import SearchQuery, SearchRank, SearchVector

    terms = search_terms(text)
    if not terms:
        return qs.none()
    config = {"sv": "swedish", "nl": "dutch", "en": "english"}.get(language, "simple")
    vector = SearchVector("title", weight="A", config=config) + SearchVector(
        "summary", "body", weight="B", config=config
    )
    query = SearchQuery(" | ".join(terms), search_type="raw", config=config)
    prefix = models.Q()
    for term in terms:
        prefix |= models.Q(title__icontains=term)
    return (
        qs.annotate(rank=SearchRank(vector, query))
        .filter(models.Q(rank__gt=0) | prefix)
        .order_by("-rank", "title")
    )


def in_process(tenant: Tenant) -> None:
    from contracts.models import Contact

    print(f"\nIn-process, {ARTICLES:,} articles in {tenant.slug} (and as many in another tenant)")
    with scope(tenant=tenant):
        contact = Contact.objects.get(email="carla@orga.example.test")
        readers: dict[str, Callable[[], ArticleQuerySet]] = {
            "public": lambda: Article.objects.all().visible_to_public(),
            "customer": lambda: articles_for_contact(contact=contact),
            "staff": lambda: Article.objects.all(),
        }
        worst = {"suggest": 0.0, "search": 0.0}
        for reader, articles in readers.items():
            for language, text in QUERIES:
                hits = len(article_suggest(articles=articles(), text=text, language=language))
                p50, p95 = timed(
                    lambda a=articles, t=text, lang=language: article_suggest(
                        articles=a(), text=t, language=lang
                    ),
                    RUNS,
                )
                s50, s95 = timed(
                    lambda a=articles, t=text, lang=language: list(
                        a().search(t, language=lang)[:100]
                    ),
                    RUNS // 2,
                )
                worst["suggest"] = max(worst["suggest"], p95)
                worst["search"] = max(worst["search"], s95)
                print(
                    f"  {reader:<8} {text[:40]!r:<44} suggest p50 {p50:6.2f} p95 {p95:6.2f} ms"
                    f"   search p50 {s50:6.2f} p95 {s95:6.2f} ms   ({hits} suggested)"
                )
        print(f"  worst p95: suggest {worst['suggest']:.2f} ms, search {worst['search']:.2f} ms")
        language, text = QUERIES[0]
        for reader, articles in readers.items():
            b50, b95 = timed(
                lambda a=articles, t=text, lang=language: list(old_search(a(), t, lang)[:5]), 5
            )
            print(f"  baseline {reader:<8} {text[:40]!r:<35} p50 {b50:8.2f} p95 {b95:8.2f} ms")


def over_http(tenant: Tenant) -> None:
    print(f"\nOver HTTP: GET /kb/suggest/ as a customer, 8 connections ({load_average()})")
    client = Client(HTTP_HOST=f"{tenant.slug}.localhost")
    from supportdesk.models import User

    client.force_login(User.objects.get(username="a-customer"))
    headers = {
        "Host": f"{tenant.slug}.localhost",
        "Cookie": f"sessionid={client.cookies['sessionid'].value}",
    }

    def request(index: int, n: int) -> tuple[str, str, None, dict[str, str]]:
        language, text = QUERIES[(index + n) % len(QUERIES)]
        path = "/kb/suggest/?" + urlencode({"q": text})
        return "GET", path, None, {**headers, "Accept-Language": language}

    for label, app, env, count, seconds in (
        ("stored vector + GIN index", "supportdesk.wsgi:application", {}, 3000, 20.0),
        (
            "baseline: to_tsvector per row",
            "benchmarks.baseline_wsgi:application",
            {"BENCH_BASELINE": "kb"},
            40,
            20.0,
        ),
    ):
        with served(app, **env) as port:
            load(port, request, connections=8, max_requests=16, max_seconds=10)  # warm up
            result = load(port, request, connections=8, max_requests=count, max_seconds=seconds)
        print(result.line(label))
    print(f"  ({load_average()})")


def main(parts: list[str]) -> None:
    if connection.vendor != "postgresql":
        raise SystemExit("run on PostgreSQL (DATABASE_URL)")
    parts = parts or ["process", "http"]
    print(load_average())
    seed()
    with scopes_disabled():
        tenant = Tenant.objects.get(slug="tenant-a")
    if "process" in parts:
        in_process(tenant)
    if "http" in parts:
        over_http(tenant)


if __name__ == "__main__":
    main(sys.argv[1:])
