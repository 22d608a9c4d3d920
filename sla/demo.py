"""Demo SLA configuration of the five tenants in DOMAIN.md: calendars, priorities, policies
(names the contracts demo links plans to) and escalation rules. Idempotent.

Choices where the sources are silent (also in docs/sla.md):

- Synerity "Guld": 2 business hours for every ticket, and 1 business hour for P1 "Akut"
  ("snabbare responstid vid akuta incidenter"): faster, but not around the clock, since
  support answers weekdays 08-17. The "Dygnet runt" calendar stays configured so an admin
  can choose a 24/7 promise visibly. Response only: the tiers promise no resolution time.
- Stratsys: the page gives no hours; we assume weekdays 08:00-17:00, Swedish holidays.
- SoftOne: "påbörjar arbetet" is modelled as the first-response target (work started).
- ITSL: P2 resolution "1-2 arbetsdagar" is taken at its outer bound, 2 working days; P4
  resolution is "by agreement": no target.
- Syneton "Maintenance": the contract states hours but no times; we assume a first answer by
  the end of the next working day for every priority, 4 business hours for "Hoog", and no
  resolution promise (issues and change requests are planned into releases).
"""

from __future__ import annotations

from typing import Any

from supportdesk.models import Tenant, User

from .models import Calendar, EscalationRule, Metric, Priority, SLAPolicy, SLATarget, TargetUnit

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri")


# Swedish offices close on Midsommarafton, Julafton and Nyårsafton: in the holidays package
# those are "de facto" holidays, not public ones. With them closed, SoftOne's short day falls
# on the working day before (23 and 30 December, the Thursday before Midsummer).
HOLIDAY_SETS = {"SE": ["public", "de_facto"]}


def _office(tz: str, country: str, hours: list[str], **extra: Any) -> dict[str, Any]:
    categories = HOLIDAY_SETS.get(country, ["public"])
    return {
        "timezone": tz,
        "week": {d: hours for d in WEEKDAYS},
        "holidays": {"country": country, "categories": categories, "extra": [], "exclude": []},
        **extra,
    }


SE_OFFICE = _office("Europe/Stockholm", "SE", ["08:00-17:00"])
AROUND_THE_CLOCK = {"timezone": "Europe/Stockholm", "always_open": True}


def _calendar(tenant: Tenant, name: str, config: dict[str, Any], *, default: bool) -> Calendar:
    calendar, _created = Calendar.objects.update_or_create(
        tenant=tenant, name=name, defaults={"config": config, "is_default": default}
    )
    return calendar


def _priorities(tenant: Tenant, rows: list[tuple[str, str, str, str, bool]]) -> dict[str, Priority]:
    out = {}
    for rank, (key, name, definition, examples, default) in enumerate(rows, start=1):
        priority, _created = Priority.objects.update_or_create(
            tenant=tenant,
            key=key,
            defaults={
                "name": name,
                "definition": definition,
                "examples": examples,
                "rank": rank,
                "is_default": default,
            },
        )
        out[key] = priority
    return out


def _policy(
    tenant: Tenant,
    name: str,
    description: str,
    calendar: Calendar,
    targets: list[tuple[str, Priority | None, int, str, Calendar | None]],
) -> SLAPolicy:
    policy, _created = SLAPolicy.objects.update_or_create(
        tenant=tenant, name=name, defaults={"description": description, "calendar": calendar}
    )
    for metric, priority, amount, unit, target_calendar in targets:
        SLATarget.objects.update_or_create(
            tenant=tenant,
            policy=policy,
            metric=metric,
            priority=priority,
            defaults={"amount": amount, "unit": unit, "calendar": target_calendar},
        )
    return policy


def _rule(tenant: Tenant, name: str, notify: list[User] | None = None, **values: Any) -> None:
    rule, _created = EscalationRule.objects.update_or_create(
        tenant=tenant, name=name, defaults=values
    )
    if notify:
        rule.notify_users.set([u for u in notify if u is not None])


def _user(tenant: Tenant, role: str) -> User | None:
    return User.objects.filter(username=f"{tenant.slug}-{role}").first()


FR, RES = Metric.FIRST_RESPONSE, Metric.RESOLUTION
H, MIN, DAYS = TargetUnit.HOURS, TargetUnit.MINUTES, TargetUnit.WORKING_DAYS


def _warnings(tenant: Tenant, *, breach_to_account_manager: bool = False) -> None:
    _rule(
        tenant,
        "Varning 75 % / 75% warning",
        metric=FR,
        threshold_percent=75,
        notify_assignee=True,
    )
    _rule(
        tenant,
        "Svarstid passerad / response overdue",
        metric=FR,
        threshold_percent=100,
        notify_assignee=True,
        notify_account_manager=breach_to_account_manager,
    )


def _synerity(tenant: Tenant) -> None:
    office = _calendar(tenant, "Kontorstid", SE_OFFICE, default=True)
    _calendar(tenant, "Dygnet runt", AROUND_THE_CLOCK, default=False)
    p = _priorities(
        tenant,
        [
            (
                "P1",
                "Akut",
                "Produktionen står still eller kunder kan inte nås.",
                "Zendesk nere, e-post kommer inte in.",
                False,
            ),
            (
                "P2",
                "Hög",
                "Viktig funktion fungerar inte, arbetet försvåras kraftigt.",
                "Triggers eller automationer slutar fungera.",
                False,
            ),
            (
                "P3",
                "Normal",
                "Fel eller fråga som går att arbeta runt.",
                "En vy visar fel ärenden.",
                True,
            ),
            ("P4", "Låg", "Önskemål och allmänna frågor.", "Hur sätter vi upp en ny makro?", False),
        ],
    )
    _policy(
        tenant,
        "Silver",
        "Garanterad svarstid 8 timmar (helgfria vardagar 08-17).",
        office,
        [
            (FR, None, 8, H, None),
        ],
    )
    _policy(
        tenant,
        "Guld",
        ("Garanterad svarstid 2 timmar; akuta incidenter 1 timme (helgfria vardagar 08-17)."),
        office,
        [
            (FR, None, 2, H, None),
            (FR, p["P1"], 1, H, None),
        ],
    )
    _warnings(tenant, breach_to_account_manager=True)


def _stratsys(tenant: Tenant) -> None:
    office = _calendar(tenant, "Kontorstid", SE_OFFICE, default=True)
    _priorities(
        tenant,
        [
            (
                "A",
                "Akut",
                ("Ni är förhindrade att utföra arbete som har en kort deadline."),
                ("Rapporteringen måste in i dag och systemet ger ett oväntat fel."),
                False,
            ),
            (
                "N",
                "Normal",
                "Buggar och system som inte beter sig enligt dokumentationen.",
                "En funktion har slutat fungera som vanligt.",
                True,
            ),
        ],
    )
    _policy(
        tenant,
        "Digital tickets",
        ("Ambition: ett första svar inom fyra timmar på alla digitala ärenden."),
        office,
        [
            (FR, None, 4, H, None),
        ],
    )
    _warnings(tenant)


SOFTONE_PRIORITIES = [
    (
        "P1",
        "Prioritet 1",
        (
            "Programvarutjänsten går ej att starta, hela eller väsentliga "
            "delar är inte tillgängliga och går ej att kringgå."
        ),
        "Ingen kan logga in i SoftOne GO.",
        False,
    ),
    (
        "P2",
        "Prioritet 2",
        (
            "Affärsverksamheten försvåras avsevärt men användningen "
            "av programvarutjänsten förhindras inte."
        ),
        "Lönekörningen går inte att slutföra.",
        False,
    ),
    (
        "P3",
        "Prioritet 3",
        (
            "Viss del av affärsverksamheten försvåras avsevärt; även "
            "P1/P2 där en alternativ lösning finns."
        ),
        "En rapport måste tas ut manuellt.",
        False,
    ),
    (
        "P4",
        "Prioritet 4",
        "Viktigt för kunden men kan kringgås.",
        "Fel i en exportfil som kan rättas för hand.",
        False,
    ),
    (
        "P5",
        "Prioritet 5",
        "Standardnivå: av mindre betydelse för kunden.",
        "Fråga om en inställning.",
        True,
    ),
]


def _softone(tenant: Tenant) -> None:
    hours = _office(
        "Europe/Stockholm", "SE", ["08:00-12:00", "13:00-16:00"], eve_hours=["08:00-13:00"]
    )
    office = _calendar(tenant, "Öppettider", hours, default=True)
    p = _priorities(tenant, SOFTONE_PRIORITIES)
    _policy(
        tenant,
        "SoftOne SLA",
        ("Arbetet påbörjas inom angivna tider under ordinarie öppettider."),
        office,
        [
            (FR, p["P1"], 2, H, None),
            (FR, p["P2"], 4, H, None),
            (FR, p["P3"], 12, H, None),
            (FR, p["P4"], 48, H, None),
            (FR, p["P5"], 48, H, None),
        ],
    )
    _warnings(tenant)


ITSL_PRIORITIES = [
    (
        "P1",
        "Kritisk",
        (
            "Hela tjänsten eller centrala funktioner ligger nere eller "
            "är kraftigt störda, utan möjlig workaround."
        ),
        "Totalt driftstopp, ingen kommer åt systemet.",
        False,
    ),
    (
        "P2",
        "Hög",
        (
            "Allvarlig funktionsnedsättning för en större grupp användare eller "
            "en kritisk funktion; tjänsten är delvis brukbar."
        ),
        ("Filöverföring eller autentisering fungerar inte för flera användare."),
        False,
    ),
    (
        "P3",
        "Medel",
        (
            "Begränsad påverkan; en enskild funktion är felaktig för "
            "vissa användare men det finns en workaround."
        ),
        ("Enstaka användare har problem med en icke-kritisk del, eller en kosmetisk bugg."),
        True,
    ),
    (
        "P4",
        "Låg",
        "Minimal påverkan eller allmänna frågor.",
        ("Frågor om användning, mindre estetiska fel, förbättringsförslag."),
        False,
    ),
]


def _itsl(tenant: Tenant) -> None:
    office = _calendar(tenant, "Supporttid", SE_OFFICE, default=True)
    p = _priorities(tenant, ITSL_PRIORITIES)
    _policy(
        tenant,
        "ITSL SLA",
        ("Initial respons och målsatt åtgärdstid per prioritet, under supporttid."),
        office,
        [
            (FR, p["P1"], 1, H, None),
            (RES, p["P1"], 8, H, None),
            (FR, p["P2"], 4, H, None),
            (RES, p["P2"], 2, DAYS, None),
            (FR, p["P3"], 1, DAYS, None),
            (RES, p["P3"], 5, DAYS, None),
            (FR, p["P4"], 2, DAYS, None),
        ],
    )
    admin = _user(tenant, "admin")
    _rule(
        tenant,
        "P1 eskaleras omedelbart",
        notify=[admin] if admin else None,
        priority=p["P1"],
        metric=RES,
        threshold_percent=0,
        move_to_line=2,
        notify_service_owner=True,
    )
    _rule(
        tenant,
        "Ej löst i tid: andra linjen",
        metric=RES,
        threshold_percent=100,
        move_to_line=2,
        notify_assignee=True,
    )
    _warnings(tenant)


def _syneton(tenant: Tenant) -> None:
    week = {
        **{d: ["09:00-12:00", "13:00-16:30"] for d in ("mon", "tue", "wed", "thu")},
        "fri": ["09:00-12:00", "13:00-15:30"],
    }
    config = {
        "timezone": "Europe/Brussels",
        "week": week,
        "holidays": {"country": "BE", "categories": ["public"], "extra": [], "exclude": []},
        "closures": [{"from": "12-25", "to": "01-01", "name": "Kerstsluiting"}],
    }
    office = _calendar(tenant, "Supporturen", config, default=True)
    p = _priorities(
        tenant,
        [
            (
                "P1",
                "Hoog",
                "Grote impact: werken met het pakket is niet mogelijk.",
                "Facturatie loopt vast voor alle gebruikers.",
                False,
            ),
            (
                "P2",
                "Normaal",
                "Beperkte impact; er is een omweg.",
                "Een rapport toont verkeerde totalen.",
                True,
            ),
            ("P3", "Laag", "Vraag of kleine hinder.", "Hoe wijzig ik een lay-out?", False),
        ],
    )
    _policy(
        tenant,
        "Maintenance",
        (
            "Onderhoudscontract: antwoord binnen de volgende werkdag "
            "(aanname), dringend binnen 4 supporturen."
        ),
        office,
        [
            (FR, None, 1, DAYS, None),
            (FR, p["P1"], 4, H, None),
        ],
    )
    _warnings(tenant)


LOADERS = {
    "synerity": _synerity,
    "stratsys": _stratsys,
    "softone": _softone,
    "itsl": _itsl,
    "syneton": _syneton,
}


def load(tenant: Tenant) -> list[tuple[str, str]]:
    """Create the tenant's SLA configuration (inside its scope); no logins are created."""
    loader = LOADERS.get(tenant.slug)
    if loader is not None:
        loader(tenant)
    elif not Calendar.objects.exists():
        _calendar(tenant, "Office hours", SE_OFFICE, default=True)
    return []
