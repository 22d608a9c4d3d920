"""Demo plans, organisations, contacts and contracts for the five tenants of DOMAIN.md.

Called by ``seed_demo`` inside the tenant's scope and a transaction, after ``sla.demo``.
Idempotent: every row is looked up by its natural key first. All people, addresses and
numbers are fictional (example.com/.se/.nl domains, 555 numbers). The mapping from each
provider's own words to plans, features and categories is explained in docs/contracts.md.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from sla.models import SLAPolicy
from supportdesk.models import Tenant, User

from .models import (
    Contact,
    Contract,
    ContractStatus,
    Feature,
    NamedContact,
    Organisation,
    PlanFeature,
    SupportPlan,
)
from .services import named_contact_add

DEMO_PASSWORD = "demo"  # noqa: S105 - demo data only, printed by seed_demo

ALL = ["email", "phone", "portal", "api", "chat"]
DIGITAL = ["email", "portal", "api"]


def _staff(tenant: Tenant, role: str) -> User | None:
    return User.objects.filter(username=f"{tenant.slug}-{role}").first()


def _policy(name: str) -> SLAPolicy | None:
    return SLAPolicy.objects.filter(name=name).first()


def _features(tenant: Tenant, rows: list[tuple[str, str, str]]) -> dict[str, Feature]:
    features = {}
    for position, (key, name, description) in enumerate(rows, start=1):
        features[key], _ = Feature.objects.update_or_create(
            tenant=tenant,
            key=key,
            defaults={"name": name, "description": description, "position": position},
        )
    return features


def _plan(
    tenant: Tenant, name: str, matrix: dict[str, str], features: dict[str, Feature], **fields: Any
) -> SupportPlan:
    plan, _ = SupportPlan.objects.update_or_create(tenant=tenant, name=name, defaults=fields)
    PlanFeature.objects.filter(plan=plan).exclude(feature__key__in=list(matrix)).delete()
    for key, value in matrix.items():
        PlanFeature.objects.update_or_create(
            tenant=tenant, plan=plan, feature=features[key], defaults={"value": value}
        )
    return plan


def _organisation(tenant: Tenant, name: str, **fields: Any) -> Organisation:
    organisation, _ = Organisation.objects.update_or_create(
        tenant=tenant, name=name, defaults=fields
    )
    return organisation


def _contact(
    tenant: Tenant, organisation: Organisation | None, name: str, email: str, **fields: Any
) -> Contact:
    contact, _ = Contact.objects.update_or_create(
        tenant=tenant,
        email=email,
        defaults={"organisation": organisation, "name": name, **fields},
    )
    return contact


def _portal_logins(slug: str, customer: Contact, named: Contact) -> list[tuple[str, str]]:
    """Each tenant's two portal logins: a plain customer contact and a named contact."""
    return [
        ("customer", _portal_user(customer, f"{slug}-customer")),
        ("named", _portal_user(named, f"{slug}-named")),
    ]


def _portal_user(contact: Contact, username: str) -> str:
    """Give the contact a portal login ``username`` (password "demo")."""
    first, _, last = contact.name.partition(" ")
    user, created = User.objects.get_or_create(
        username=username,
        defaults={"email": contact.email, "first_name": first, "last_name": last},
    )
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save()
    if contact.user_id != user.pk:
        contact.user = user
        contact.save(update_fields=["user"])
    return username


def _contract(
    organisation: Organisation,
    plan: SupportPlan,
    starts_on: dt.date,
    ends_on: dt.date | None,
    **fields: Any,
) -> Contract:
    contract, _ = Contract.objects.get_or_create(
        tenant=organisation.tenant,
        organisation=organisation,
        plan=plan,
        defaults={"starts_on": starts_on, "ends_on": ends_on, **fields},
    )
    return contract


def _name(contract: Contract, *contacts: Contact) -> list[str]:
    """Name each contact on the contract through the service; returns refusals."""
    refusals = []
    for contact in contacts:
        if NamedContact.objects.filter(contract=contract, contact=contact).exists():
            continue
        try:
            named_contact_add(contract=contract, contact=contact, actor=None)
        except ValidationError as exc:
            refusals.extend(exc.messages)
    return refusals


class _Period:
    """Demo contract dates relative to today, so the demo stays valid whenever it is run."""

    def __init__(self) -> None:
        year = timezone.localdate().year
        self.start = dt.date(year - 1, 1, 1)
        self.end = dt.date(year + 1, 12, 31)
        self.expired_start = dt.date(year - 3, 7, 1)
        self.expired_end = dt.date(year - 1, 6, 30)


# --- Synerity ----------------------------------------------------------------------------

SYNERITY_FEATURES = [
    (
        "guaranteed_response",
        "Garanterad svarstid på ärenden",
        "Svar inom angiven tid, helgfria vardagar 08-17.",
    ),
    (
        "vendor_follow_up",
        "Rapportering & uppföljning av incidenter till Zendesk",
        "Vi håller er informerade tills Zendesk har löst problemet.",
    ),
    (
        "intake_all_channels",
        "Ärendeanmälan via mail, telefon och portal",
        "Mail dygnet runt, telefon vardagar 08-17.",
    ),
    ("self_help_advice", "Rådgivning gällande hjälp till självhjälp", ""),
    ("knowledge_centre", "Tillgång till Syneritys kunskapscenter", "Lärdomar, tips och tricks."),
    ("vip_webinars", "Inbjudan till Synerity VIP Webinars", "En gång i kvartalet."),
    ("video_troubleshooting", "Felsökning via videodelning", ""),
    ("feature_request_help", "Hjälp med feature requests till Zendesk", ""),
    ("troubleshooting_on_site", "Felsökning i er miljö", ""),
    ("basic_configuration_fixes", "Grundläggande rättning av konfiguration", ""),
    ("vendor_escalation", "Eskalering av incidenter till Zendesk", ""),
    (
        "monthly_reports",
        "Regelbundna supportrapporter",
        "Månadsvis: alla ärenden, uppfyllt SLA, frågor mot incidenter.",
    ),
    ("consulting_discount", "Rabatterat timpris för konsulttjänster", ""),
    ("advanced_configuration_fixes", "Avancerad rättning av konfiguration", ""),
    ("faster_acute_response", "Snabbare responstid vid akuta incidenter", ""),
]
_SILVER_AND_UP = [
    "knowledge_centre",
    "vip_webinars",
    "video_troubleshooting",
    "feature_request_help",
    "troubleshooting_on_site",
    "basic_configuration_fixes",
    "vendor_escalation",
    "monthly_reports",
]


def _synerity(tenant: Tenant, period: _Period) -> list[tuple[str, str]]:
    features = _features(tenant, SYNERITY_FEATURES)
    base = {"intake_all_channels": "", "self_help_advice": ""}
    common: dict[str, Any] = {
        "currency": "SEK",
        "allowed_channels": ["email", "phone", "portal"],
        "quote_free_hours": None,
    }
    free = _plan(
        tenant,
        "Free",
        {**base, "vendor_follow_up": "På begäran"},
        features,
        position=1,
        price_licence=Decimal("0"),
        price_non_licence=Decimal("2500"),
        consulting_discount_percent=Decimal("0"),
        included_categories=["question", "incident", "problem", "bug"],
        sla_policy=None,
        description="Ingen garanterad svarstid.",
        **common,
    )
    silver_matrix = {
        **base,
        "guaranteed_response": "8 timmar",
        "vendor_follow_up": "Proaktivt",
        **dict.fromkeys(_SILVER_AND_UP, ""),
        "consulting_discount": "Rabatt",
    }
    silver = _plan(
        tenant,
        "Silver",
        silver_matrix,
        features,
        position=2,
        price_licence=Decimal("5000"),
        price_non_licence=Decimal("7500"),
        consulting_discount_percent=Decimal("10"),
        included_categories=[
            "question",
            "incident",
            "problem",
            "bug",
            "feature_request",
            "change_request",
        ],
        sla_policy=_policy("Silver"),
        description="Garanterad svarstid 8 arbetstimmar.",
        **common,
    )
    guld_matrix = {
        **silver_matrix,
        "guaranteed_response": "2 timmar",
        "consulting_discount": "Högre rabatt",
        "advanced_configuration_fixes": "",
        "faster_acute_response": "",
    }
    guld = _plan(
        tenant,
        "Guld",
        guld_matrix,
        features,
        position=3,
        price_licence=Decimal("10000"),
        price_non_licence=Decimal("15000"),
        consulting_discount_percent=Decimal("20"),
        included_categories=[
            "question",
            "incident",
            "problem",
            "bug",
            "feature_request",
            "change_request",
        ],
        sla_policy=_policy("Guld"),
        description="Garanterad svarstid 2 arbetstimmar, snabbare vid akuta incidenter.",
        **common,
    )
    # A suspended or expired contract falls back to billable support (time and material),
    # as Synerity's own terms say nothing against helping: the request is accepted once the
    # customer agrees to pay for it.
    _plan(
        tenant,
        "Utan giltigt avtal",
        {"intake_all_channels": ""},
        features,
        position=9,
        is_fallback=True,
        currency="SEK",
        allowed_channels=["email", "phone", "portal"],
        included_categories=[],
        sla_policy=None,
        description="Utan giltigt avtal debiteras all support per timme.",
    )
    manager = _staff(tenant, "manager")
    nordljus = _organisation(
        tenant,
        "Nordljus Retail AB",
        org_number="556000-0101",
        email_domains="nordljus.example.se",
        is_licence_customer=True,
        language="sv",
        account_manager=manager,
    )
    havsbris = _organisation(
        tenant,
        "Havsbris Logistik AB",
        org_number="556000-0102",
        email_domains="havsbris.example.se",
        is_licence_customer=False,
        language="sv",
        account_manager=manager,
    )
    fjallgarden = _organisation(
        tenant,
        "Fjällgården Hotell AB",
        org_number="556000-0103",
        email_domains="fjallgarden.example.se",
        is_licence_customer=True,
        language="sv",
    )
    ekdal = _organisation(
        tenant,
        "Ekdal Fastigheter AB",
        org_number="556000-0104",
        email_domains="ekdal.example.se",
        language="sv",
        notes="Silveravtalet gick ut; förnyelse diskuteras.",
    )
    contract = _contract(nordljus, guld, period.start, period.end)
    _contract(havsbris, silver, period.start, period.end)
    _contract(fjallgarden, free, period.start, None)
    _contract(
        ekdal, silver, period.expired_start, period.expired_end, status=ContractStatus.EXPIRED
    )
    customer = _contact(
        tenant, nordljus, "Karin Berg", "karin.berg@nordljus.example.se", phone="+46 8 555 010 01"
    )
    named = _contact(
        tenant, nordljus, "Nils Holm", "nils.holm@nordljus.example.se", phone="+46 8 555 010 02"
    )
    _contact(tenant, havsbris, "Sara Lund", "sara.lund@havsbris.example.se")
    _contact(tenant, fjallgarden, "Oskar Ek", "oskar.ek@fjallgarden.example.se")
    _contact(tenant, ekdal, "Eva Dahl", "eva.dahl@ekdal.example.se")
    _name(contract, named)
    return _portal_logins("synerity", customer, named)


# --- Stratsys ----------------------------------------------------------------------------

STRATSYS_FEATURES = [
    ("knowledge_centre", "Hjälpcenter och manual", "Manual och lokala kontakter i hjälpcentret."),
    ("support_phone", "Supporttelefon för akuta ärenden", "Endast för ärenden av akut karaktär."),
    (
        "customer_success_manager",
        "Customer Success Manager",
        "Utvärderingar, nya rapporter och arbetssätt.",
    ),
    (
        "first_response_ambition",
        "Första svar inom fyra timmar",
        "Ambition för alla digitala ärenden.",
    ),
]
# What Stratsys calls technical support: bugs ("unexpected error") and the system not
# behaving as documented. Change requests, restoring self-inflicted data loss, user
# administration, training and consulting are out of scope (billed, < 2 h without a quote).
STRATSYS_SCOPE = ["bug", "incident", "problem", "question"]


def _stratsys(tenant: Tenant, period: _Period) -> list[tuple[str, str]]:
    features = _features(tenant, STRATSYS_FEATURES)
    rules: dict[str, Any] = {
        "currency": "SEK",
        "included_categories": STRATSYS_SCOPE,
        "quote_free_hours": Decimal("2"),
        "notify_account_manager_out_of_scope": True,
        "sla_policy": _policy("Digital tickets"),
    }
    standard = _plan(
        tenant,
        "Standard",
        {"knowledge_centre": "", "support_phone": "", "first_response_ambition": ""},
        features,
        position=1,
        named_contacts_only=True,
        named_contact_limit=2,
        training_required=True,
        allowed_channels=["email", "phone", "portal"],
        description="Två namngivna administratörer med genomförd administratörsutbildning.",
        **rules,
    )
    enterprise = _plan(
        tenant,
        "Enterprise",
        {
            "knowledge_centre": "",
            "support_phone": "",
            "customer_success_manager": "",
            "first_response_ambition": "",
        },
        features,
        position=2,
        named_contacts_only=True,
        named_contact_limit=10,
        training_required=True,
        allowed_channels=["email", "phone", "portal"],
        description="Upp till tio namngivna administratörer och en Customer Success Manager.",
        **rules,
    )
    digital = _plan(
        tenant,
        "Resursplanering och Meetings (digitalt)",
        {"knowledge_centre": "", "first_response_ambition": ""},
        features,
        position=3,
        allowed_channels=["email", "portal"],
        description="Digitala ärenden via separata ingångar; ingen supporttelefon.",
        **rules,
    )
    account_manager, csm = _staff(tenant, "manager"), _staff(tenant, "admin")
    nordby = _organisation(
        tenant,
        "Region Nordby",
        org_number="232100-0101",
        email_domains="nordby.example.se",
        language="sv",
        account_manager=account_manager,
        customer_success_manager=csm,
    )
    akerby = _organisation(
        tenant,
        "Åkerby kommun",
        org_number="212000-0102",
        email_domains="akerby.example.se",
        language="sv",
        account_manager=account_manager,
        notes="Standardkund. Ett tredje försök att namnge en administratör nekades (2 av 2).",
    )
    solhem = _organisation(
        tenant,
        "Stiftelsen Solhem",
        org_number="802400-0103",
        email_domains="solhem.example.se",
        language="sv",
        account_manager=account_manager,
        project_manager=_staff(tenant, "agent"),
        project_ends_on=period.end,
    )
    lindqvist = _organisation(
        tenant,
        "Lindqvist Bygg AB",
        org_number="556000-0104",
        email_domains="lindqvistbygg.example.se",
        language="sv",
        account_manager=account_manager,
        notes="Ren Meetingskund: endast digitala ärenden.",
    )
    trained = period.start
    enterprise_contract = _contract(nordby, enterprise, period.start, period.end)
    akerby_contract = _contract(akerby, standard, period.start, period.end)
    solhem_contract = _contract(solhem, standard, period.start, period.end)
    _contract(lindqvist, digital, period.start, period.end)
    _name(
        enterprise_contract,
        _contact(
            tenant, nordby, "Lena Nyström", "lena.nystrom@nordby.example.se", trained_on=trained
        ),
        _contact(
            tenant, nordby, "Per Sandberg", "per.sandberg@nordby.example.se", trained_on=trained
        ),
    )
    named = _contact(
        tenant,
        akerby,
        "Maria Åberg",
        "maria.aberg@akerby.example.se",
        phone="+46 10 555 02 01",
        trained_on=trained,
        training_notes="Administratörsutbildning",
    )
    second = _contact(
        tenant, akerby, "Jonas Falk", "jonas.falk@akerby.example.se", trained_on=trained
    )
    third = _contact(tenant, akerby, "Olle Ek", "olle.ek@akerby.example.se", trained_on=trained)
    customer = _contact(tenant, akerby, "Anna Strand", "anna.strand@akerby.example.se")
    # The third name is refused: Standard allows two named administrators.
    _name(akerby_contract, named, second)
    _name(akerby_contract, third)
    _name(
        solhem_contract,
        _contact(tenant, solhem, "Greta Wik", "greta.wik@solhem.example.se", trained_on=None),
    )
    _contact(tenant, lindqvist, "Hugo Lindqvist", "hugo@lindqvistbygg.example.se")
    return _portal_logins("stratsys", customer, named)


# --- SoftOne -----------------------------------------------------------------------------

SOFTONE_FEATURES = [
    ("customer_centre", "Digitala Kundcentret", "Rapportera och följ ärenden."),
    (
        "knowledge_centre",
        "Vanliga frågor och SoftOne Akademi",
        "Instruktionsfilmer och handböcker.",
    ),
    ("software_downloads", "Nedladdning av nya versioner", "För klient-serverprogrammen."),
    ("remote_support", "Fjärrsupport", "Med kundens tillåtelse."),
]
# A support case is guidance on the system's functions and flows, and troubleshooting of
# problems caused by the technical environment. Training, form and report adjustments,
# workflow reviews, reconciliations and customer-caused problems are add-ons on quote.
SOFTONE_SCOPE = ["question", "incident", "problem", "bug"]


def _softone(tenant: Tenant, period: _Period) -> list[tuple[str, str]]:
    features = _features(tenant, SOFTONE_FEATURES)
    plan = _plan(
        tenant,
        "SoftOne Service & Kvalitet",
        dict.fromkeys(
            ["customer_centre", "knowledge_centre", "software_downloads", "remote_support"], ""
        ),
        features,
        position=1,
        currency="SEK",
        named_contacts_only=True,
        named_contact_limit=2,
        training_required=True,
        allowed_channels=["email", "phone", "portal"],
        included_categories=SOFTONE_SCOPE,
        sla_policy=_policy("SoftOne SLA"),
        description="Två kontaktpersoner med genomgången utbildning i modulerna. "
        "Support så länge inga förfallna betalningar föreligger.",
    )
    # "Som kund har du alltid möjlighet att rapportera eventuella programfel via det
    # digitala kundcentret": without a valid contract, bug reports in the portal remain free.
    _plan(
        tenant,
        "Utan giltigt avtal",
        {"customer_centre": ""},
        features,
        position=9,
        currency="SEK",
        is_fallback=True,
        allowed_channels=["portal"],
        included_categories=["bug"],
        description="Programfel kan alltid rapporteras via kundcentret; annat debiteras.",
    )
    bergstrom = _organisation(
        tenant,
        "Bergström Revision AB",
        org_number="556000-0201",
        email_domains="bergstromrevision.example.se",
        language="sv",
        account_manager=_staff(tenant, "manager"),
    )
    norrsken = _organisation(
        tenant,
        "Norrsken Bemanning AB",
        org_number="556000-0202",
        email_domains="norrsken.example.se",
        language="sv",
    )
    alvdalen = _organisation(
        tenant,
        "Älvdalens Sågverk AB",
        org_number="556000-0203",
        email_domains="alvdalensag.example.se",
        language="sv",
    )
    contract = _contract(bergstrom, plan, period.start, period.end)
    _contract(
        norrsken,
        plan,
        period.start,
        period.end,
        status=ContractStatus.SUSPENDED,
        suspended_reason="Faktura 2041 är förfallen sedan 30 dagar",
        suspended_at=timezone.now(),
    )
    alvdalen_contract = _contract(alvdalen, plan, period.start, period.end)
    trained = period.start
    named = _contact(
        tenant,
        bergstrom,
        "Linnea Björk",
        "linnea.bjork@bergstromrevision.example.se",
        phone="+46 31 555 03 01",
        trained_on=trained,
        training_notes="Lön och Ekonomi",
    )
    second = _contact(
        tenant,
        bergstrom,
        "Erik Sund",
        "erik.sund@bergstromrevision.example.se",
        trained_on=trained,
        training_notes="Ekonomi",
    )
    customer = _contact(tenant, bergstrom, "Ida Blom", "ida.blom@bergstromrevision.example.se")
    _name(contract, named, second)
    _name(
        alvdalen_contract,
        _contact(tenant, alvdalen, "Rune Moberg", "rune.moberg@alvdalensag.example.se"),
    )
    _contact(
        tenant, norrsken, "Tove Sjöberg", "tove.sjoberg@norrsken.example.se", trained_on=trained
    )
    return _portal_logins("softone", customer, named)


# --- ITSL --------------------------------------------------------------------------------

ITSL_FEATURES = [
    ("service_owner", "Utpekad tjänsteansvarig", "En namngiven tjänsteansvarig per kund."),
    ("knowledge_centre", "Hjälpsektion i Hubs", "Manualer, steg-för-steg-guider och FAQ."),
    (
        "post_incident_review",
        "Post incident review (PIR)",
        "För varje avslutat ärende med prioritet hög eller kritisk.",
    ),
    (
        "proactive_updates",
        "Proaktiv statusinformation",
        "Ni hålls informerade under hela processen.",
    ),
    ("documentation_on_request", "Ärendedokumentation på begäran", ""),
]


def _itsl(tenant: Tenant, period: _Period) -> list[tuple[str, str]]:
    features = _features(tenant, ITSL_FEATURES)
    plan = _plan(
        tenant,
        "Hubs Support",
        dict.fromkeys([key for key, _name_, _d in ITSL_FEATURES], ""),
        features,
        position=1,
        currency="SEK",
        allowed_channels=["chat", "email", "phone", "portal"],
        included_categories=["question", "incident", "problem", "bug", "feature_request"],
        sla_policy=_policy("ITSL SLA"),
        description="ITIL-baserad support vardagar 08-17 via chatt, e-post och telefon.",
    )
    owner = _staff(tenant, "agent")
    vard = _organisation(
        tenant,
        "Mälardalens Vårdförbund",
        org_number="222000-0301",
        email_domains="vardforbund.example.se",
        language="sv",
        service_owner=owner,
        account_manager=_staff(tenant, "manager"),
    )
    bank = _organisation(
        tenant,
        "Kustbankens Sparbank",
        org_number="516400-0302",
        email_domains="kustbanken.example.se",
        language="sv",
        service_owner=owner,
    )
    contract = _contract(vard, plan, period.start, period.end)
    _contract(bank, plan, period.start, None)
    customer = _contact(tenant, vard, "Johan Lindgren", "johan.lindgren@vardforbund.example.se")
    named = _contact(
        tenant,
        vard,
        "Sofia Hedlund",
        "sofia.hedlund@vardforbund.example.se",
        phone="+46 60 555 04 01",
    )
    _contact(tenant, bank, "Mats Öberg", "mats.oberg@kustbanken.example.se")
    _name(contract, named)
    return _portal_logins("itsl", customer, named)


# --- Syneton -----------------------------------------------------------------------------

SYNETON_FEATURES = [
    ("knowledge_centre", "Gebruik van onze knowledgebase-artikels", ""),
    ("personal_login", "Persoonlijke login op de supportsite", ""),
    ("reference_number", "Ticket met referentienummer", "Elke vraag wordt een ticket."),
]
# Included in the maintenance contract: knowledge-base articles (a feature), bug reports
# (bug, incident, problem), change requests (change_request, feature_request) and user
# questions (question). Not included: database scripts, (re)installs and upgrades, reports
# and layouts, custom work, training: all out_of_scope, billed in time and material.
SYNETON_SCOPE = ["question", "bug", "incident", "problem", "change_request", "feature_request"]


def _syneton(tenant: Tenant, period: _Period) -> list[tuple[str, str]]:
    features = _features(tenant, SYNETON_FEATURES)
    plan = _plan(
        tenant,
        "Onderhoudscontract",
        dict.fromkeys(["knowledge_centre", "personal_login", "reference_number"], ""),
        features,
        position=1,
        currency="EUR",
        allowed_channels=["portal", "email", "phone"],
        included_categories=SYNETON_SCOPE,
        sla_policy=_policy("Maintenance"),
        description="Scripts op de database, (her)installaties, upgrades, rapporten en "
        "lay-outs, maatwerk en opleiding zijn niet inbegrepen.",
    )
    _plan(
        tenant,
        "Geen onderhoudscontract",
        {"personal_login": "", "reference_number": ""},
        features,
        position=9,
        currency="EUR",
        is_fallback=True,
        allowed_channels=["portal", "email", "phone"],
        included_categories=[],
        description="U kan bij ons terecht, maar elke interventie wordt in regie gefactureerd.",
    )
    linden = _organisation(
        tenant,
        "Brouwerij De Drie Linden",
        org_number="BE0400.000.101",
        email_domains="drielinden.example.nl",
        language="nl",
        account_manager=_staff(tenant, "manager"),
    )
    vandamme = _organisation(
        tenant,
        "Van Damme Logistiek NV",
        org_number="BE0400.000.102",
        email_domains="vandamme.example.nl",
        language="nl",
        notes="Onderhoudscontract verlopen.",
    )
    peeters = _organisation(
        tenant,
        "Bakkerij Peeters",
        org_number="BE0400.000.103",
        email_domains="peeters.example.nl",
        language="nl",
        notes="Geen onderhoudscontract: elke interventie in regie.",
    )
    contract = _contract(linden, plan, period.start, period.end)
    _contract(
        vandamme, plan, period.expired_start, period.expired_end, status=ContractStatus.EXPIRED
    )
    customer = _contact(tenant, linden, "Pieter Janssens", "pieter.janssens@drielinden.example.nl")
    named = _contact(
        tenant,
        linden,
        "Els Maes",
        "els.maes@drielinden.example.nl",
        phone="+32 3 555 05 01",
        language="nl",
    )
    _contact(tenant, vandamme, "Wim Claes", "wim.claes@vandamme.example.nl")
    _contact(tenant, peeters, "An Peeters", "an@peeters.example.nl")
    _name(contract, named)
    return _portal_logins("syneton", customer, named)


LOADERS = {
    "synerity": _synerity,
    "stratsys": _stratsys,
    "softone": _softone,
    "itsl": _itsl,
    "syneton": _syneton,
}


def load(tenant: Tenant) -> list[tuple[str, str]]:
    """Create the tenant's demo plans, organisations and contracts; returns portal logins.

    Caller holds ``scope(tenant=tenant)`` and a transaction. Unknown tenants get nothing.
    """
    loader = LOADERS.get(tenant.slug)
    if loader is None:
        return []
    return loader(tenant, _Period())
