"""Demo articles for the five tenants, in each tenant's language."""

from __future__ import annotations

from contracts.models import SupportPlan
from supportdesk.models import Tenant

from .models import Article, ArticleKind, Visibility
from .services import article_save

# (title, summary, body, kind, visibility, plan names)
ARTICLES: dict[str, list[tuple[str, str, str, str, str, list[str]]]] = {
    "synerity": [
        (
            "Så återställer du lösenordet för en agent i Zendesk",
            "Steg för steg när en agent inte kan logga in.",
            "1. Öppna **Admin Center → Team → Team members**.\n2. Välj agenten.\n"
            "3. Klicka **Reset password**.\n\nFungerar det inte? Skapa ett ärende.",
            ArticleKind.GUIDE,
            Visibility.PUBLIC,
            [],
        ),
        (
            "Kunskapscenter: avancerade triggers och automationer",
            "Mönster för triggers som inte krockar med varandra.",
            "Samla villkoren i en tagg och låt en trigger sätta den. "
            "Automationer körs en gång i timmen; räkna med det när du sätter tidsvillkor.",
            ArticleKind.MANUAL,
            Visibility.PLANS,
            ["Silver", "Guld"],
        ),
        (
            "Vad ingår i vårt supportavtal?",
            "Free, Silver och Guld jämförda.",
            "Se din avtalssida i portalen för funktionerna i din nivå och svarstiderna.",
            ArticleKind.FAQ,
            Visibility.CUSTOMERS,
            [],
        ),
    ],
    "stratsys": [
        (
            "Vem får kontakta supporten?",
            "Endast namngivna administratörer som gått adminutbildningen.",
            "Supporten hjälper utsedda administratörer. Övriga användare vänder sig till "
            "sin lokala administratör.",
            ArticleKind.FAQ,
            Visibility.PUBLIC,
            [],
        ),
        (
            "Felmeddelandet \u201dUnexpected error\u201d vid export",
            "Känd orsak och lösning.",
            "Exporten avbryts när en rapport har fler än 50 000 rader. Dela upp exporten per "
            "period.",
            ArticleKind.KNOWN_ISSUE,
            Visibility.CUSTOMERS,
            [],
        ),
    ],
    "softone": [
        (
            "Lönekörningen visar fel semesterdagar",
            "Kontrollera semesterårets brytdatum.",
            "Gå till **Inställningar → Semester** och kontrollera brytdatumet. "
            "Kör sedan om beräkningen för perioden.",
            ArticleKind.FAQ,
            Visibility.CUSTOMERS,
            [],
        ),
        (
            "Prioriteringar P1–P5",
            "Hur vi prioriterar ärenden.",
            "P1: verksamhetskritiskt stopp. P2: allvarligt fel utan lösning. P3: fel med "
            "lösning. P4: frågor. P5: önskemål.",
            ArticleKind.FAQ,
            Visibility.PUBLIC,
            [],
        ),
    ],
    "itsl": [
        (
            "Manual: kom igång med Hubs",
            "Inloggning, roller och första projektet.",
            "## Inloggning\nLogga in med organisationens konto.\n\n## Roller\n"
            "Administratörer bjuder in användare under **Inställningar → Användare**.",
            ArticleKind.MANUAL,
            Visibility.CUSTOMERS,
            [],
        ),
        (
            "Steg för steg: exportera en rapport till Excel",
            "Från rapportvyn till fil.",
            "1. Öppna rapporten.\n2. Välj **Exportera**.\n3. Välj **Excel (.xlsx)**.",
            ArticleKind.GUIDE,
            Visibility.PUBLIC,
            [],
        ),
    ],
    "syneton": [
        (
            "Hoe meld ik een bug?",
            "Wat we nodig hebben om een fout te reproduceren.",
            "Vermeld de versie, de stappen, wat u verwachtte en wat er gebeurde. "
            "Voeg een schermafdruk toe.",
            ArticleKind.FAQ,
            Visibility.PUBLIC,
            [],
        ),
        (
            "Wat valt onder het onderhoudscontract?",
            "Inbegrepen en niet inbegrepen.",
            "Inbegrepen: kennisbank, bugmeldingen, wijzigingsverzoeken, gebruikersvragen. "
            "Niet inbegrepen: databasescripts, (her)installaties, rapporten en lay-outs, "
            "maatwerk, opleiding.",
            ArticleKind.FAQ,
            Visibility.CUSTOMERS,
            [],
        ),
    ],
}


def load(tenant: Tenant) -> list[tuple[str, str]]:
    for title, summary, body, kind, visibility, plan_names in ARTICLES.get(tenant.slug, []):
        article = Article.objects.filter(title=title).first() or Article(tenant=tenant, title=title)
        article.summary, article.body, article.kind = summary, body, kind
        article.visibility, article.language = visibility, tenant.default_language
        plans = SupportPlan.objects.filter(name__in=plan_names)
        article_save(article=article, plans=plans)
    return []
