"""Names in meeting notes: competitors and systems (software products, platforms, and the standards and
regulations a customer must meet), found by rules. Competitors are the deal's, the organisation's battlecards' (any
case, or misspelt by one edit, two for long names) and any name the note frames as an alternative being evaluated,
compared, tried or chosen ("also looking at X", "a startup called X", "a demo from X", "X is on the shortlist", "had
X in a POC"), in any case; systems are product-like names (inner capitals, digits, acronyms outside a list of
business abbreviations, words that are no common English word by the model's vocabulary) and names recognised by
how the note uses them: common words in a system context ("in Snowflake", "through Stripe", "Canvas for the LMS",
"PMS is Opera"), lower-case words where a product stands ("orders in quickbooks", "crm = dynamics", "ads on meta",
"to google sheets", the items of a list line: "freshdesk for tickets, wix site, sendinblue"). Never people
(attendees, stakeholders, a name followed by "said"/"asked"...), job titles and departments, places ("their London
office"), time zones, fiscal periods, months, our product or the account.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from services.core.tokens import model_path

if TYPE_CHECKING:
    from services.pitch.deals.notes import NoteFacts, NoteSentence

# Business abbreviations, roles and time words that are no system (general, not any catalogue's).
_NOT_SYSTEMS = frozenset(
    """CEO CFO CTO CIO CISO CMO COO CRO CPO CDO VP SVP EVP AVP GM MD HR IT PM AM EOD EOW EOM COB ASAP TBD TBC FYI
    ROI TCO KPI KPIS OKR OKRS ARR MRR NRR CAC LTV QBR POC POCS MVP RFP RFI RFQ MSA NDA DPA SOW SLA SLAS SSO SCIM
    MFA API APIS SDK ETL ELT CRM ERP CDP BI ML AI UI UX US USA EU UK EMEA APAC NA LATAM Q1 Q2 Q3 Q4 H1 H2 FY YOY
    QOQ B2B B2C SAAS SMB AE SE SDR BDR CSM CS PS FTE FTES OK ID PDF CSV SQL JSON HQ NS DR ICP VPN PII SEO SEM
    PPC ABM IPO IMO TLDR RE FW CC BCC PO SKU SKUS GTM PLG NPS CSAT MQL MQLS SQLS DB DBA QA OOO PTO DM RIF YTD
    MTD WAU MAU DAU REST SOAP SFTP FTP ACV TCV MAP TAM SAM ROAS CPA CPC CPM CTR REVOPS LIVEOPS DEVOPS SECOPS
    FINOPS SALESOPS MARTECH MOPS PMS OTA HCP PQL BAA
    TPRM VRM DTC D2C VPC BYOK HYOK KMS POS CIS PIM DAM CMS ESP DMP WMS TMS LMS HRIS ATS OMS CX EX SME LOB BU PNL
    NB PS FAQ EOQ EOY ETA SOP SOPS RACI PHI EHR EMR DPIA DPO DSAR HVAC BD IDP SI MSP ISV OEM KYC AML
    ET EST EDT CT CST CDT MT MST MDT PT PST PDT GMT UTC BST CET CEST EET EEST WET IST JST AEST AEDT SGT HKT""".split()  # noqa: SIM905
)
# Regulators and supervisory bodies (never a system; the regulations and standards they enforce are: GDPR, SOX,
# PCI DSS), the usual ones of the larger jurisdictions, by domain: finance, data protection, health, energy and
# telecoms, competition and trade.
_REGULATORS = frozenset(
    """SEC FINRA CFTC OCC FDIC NCUA CFPB FRB FHFA NFA MSRB OFAC FINCEN FTC FCC FDA HHS OCR EPA FERC DOJ IRS DOL OSHA
    CISA NHTSA FAA FCA PRA ICO CMA OFGEM OFWAT OFCOM OFSTED CQC MHRA TPR PSR SRA HMRC NCSC ESMA EBA EIOPA ECB EDPB
    BAFIN CNIL AMF CONSOB AFM DNB FINMA MAS APRA ASIC OAIC SEBI RBI IRDAI HKMA PBOC CBIRC JFSA OSFI FINTRAC CIRO
    IIROC OSC AUSTRAC""".split()  # noqa: SIM905
)
# Sales qualification frameworks and business metrics reps write in capitals (no product either).
_SALES_TERMS = frozenset(
    """MEDDIC MEDDICC MEDDPICC BANT SPICED SPIN GPCTBA CHAMP ANUM FAINT CPI CPL CPO CPS CPV CPE AOV ARPU ARPPU ARPA CLV
    CLTV GMV GRR EBITDA COGS OPEX CAPEX NPV IRR DSO WACC""".split()  # noqa: SIM905
)
# Abbreviations that follow a pattern: C-suite titles (CCO, CDAO), fiscal years and quarters (FY27, Q3'26).
_NOT_SYSTEM_PATTERN = re.compile(r"C[A-Z]{1,3}O|(?i:FY)\d{2,4}|[Qq][1-4](?:'?\d{2})?|H[12](?:'?\d{2})?")
# Shorthand reps write, and compounds of common words that name no product (lower-case; not in the model's
# vocabulary, so they would otherwise read as a product's name).
_SHORTHAND = frozenset(
    """acct accts mtg mtgs mgr mgrs mgmt mktg mkt obj objs ecom ecomm infosec dir svc svcs govt dept depts approx
    eng biz dev devs fin exec execs admin reqs req pls thx fwd disco qual intl natl corp inc ltd llc hrs hr mins
    wk wks yr yrs mos ppl pts abt appt appts thru w/ b/c f/u btw imo tbh fyi ok asap avg max min est info org
    orgs rev prod ops config configs
    spreadsheet spreadsheets workbook workbooks dashboard dashboards inbox inboxes website websites webform webforms
    homepage database databases whiteboard whiteboards checklist checklists helpdesk timesheet timesheets
    email emails newsletter newsletters
    mon tue tues wed weds thu thur thurs fri sat sun jan feb mar apr jun jul aug sep sept oct nov dec""".split()  # noqa: SIM905
)
# Words of job titles: a capitalised run holding one is a role ("VP Demand Gen", "Enterprise Architect").
_TITLE_WORDS = frozenset(
    """head director dir vp svp evp avp chief officer manager mgr lead leader architect partner founder cofounder
    co-founder owner president coordinator specialist analyst engineer consultant executive exec counsel
    associate assistant principal supervisor controller treasurer secretary intern advisor strategist
    administrator""".split()  # noqa: SIM905
)
# English function words written in capitals for emphasis ("NOT convinced"), never acronyms of a product.
_EMPHASIS = frozenset(
    """NOT NO YES ALL ANY ONLY NEVER MUST AND OR BUT THE WHO WHAT WHY WHEN WHERE HOW VERY REALLY HUGE BIG KEY NEW
    NOW ASAP URGENT IMPORTANT NOTE""".split()  # noqa: SIM905
)
_HOLIDAYS = re.compile(
    r"(?:Black Friday|Cyber Monday|Christmas|Xmas|Easter|Thanksgiving|Halloween|New Year'?s?|Hanukkah|Diwali|Ramadan|"
    r"Eid|Lunar New Year|Chinese New Year|Memorial Day|Labor Day|Labour Day|Boxing Day)",
)
_NOT_NAMES = frozenset(
    """I We They He She It You Our Their His Her The A An This That These Those Also And But Or So Then Next Pain
    Pains Goal Goals Objection Objections Concern Concerns Risk Risks Commitment Commitments Action Actions
    Items Notes Note Call Meeting Attendees Agenda Summary Recap Todo Follow Followup Overall Good Great Strong
    Weak Need Needs Want Wants Key Main Discussed Demo Intro Discovery Monday Tuesday Wednesday Thursday Friday
    Saturday Sunday Mon Tue Tues Wed Thu Thur Thurs Fri Sat Sun January February March April May June July
    August September October November December Jan Feb Mar Apr Jun Jul Aug Sep Sept Oct Nov Dec Today Tomorrow
    EOW Yes No Not None Tech Stack Systems Tools Competition Competitors Status Budget Timeline Decision Process
    Team Finance Legal Security Procurement Marketing Sales Engineering Product Board Ops Operations Data
    Analytics Revenue Support Customer Customers Success IT HR Exec Execs Leadership Management CFO CEO Mr Ms
    Mrs Dr Q Quarter Per Via Re Cc Ok Okay Hi Thanks Thank Please Will Would Should Could Can Might Must Just
    Still Only Everyone Anyone Nobody Someone Both Each Every All Some Most Many Few Lots Very Much More Less
    Early Late Price Pricing Cost Costs Contract Renewal Proposal Quote Trial Pilot Workshop Session Review
    Kickoff Onsite""".split()  # noqa: SIM905
)
_PERSON_AFTER = re.compile(
    r"^\s*(?:'s\s+(?:team|boss|manager|role|view|concern|take)|\((?:[A-Z][\w&/ ]{1,30})\)|,\s*(?:the\s+)?"
    r"(?:head|vp|svp|evp|avp|dir|director|chief|manager|c[a-z]{1,3}o|lead|owner|founder|co-?founder|president|"
    r"partner|gm|md)\b|\s+(?:said|says|asked|asks|wants|"
    r"wanted|mentioned|thinks|thought|noted|raised|pushed|agreed|joined|confirmed|promised|owes|explained|"
    r"shared|described|complained|worries|worried|is worried|was worried|is concerned|was concerned|"
    r"(?:will|'ll|to) (?:send|share|intro|introduce|loop|check|confirm|get|ask|review|talk|bring)|"
    r"runs|leads|manages|owns|reports|is (?:the|our|their|a) (?:\w+ )?(?:champion|sponsor|buyer|lead|head)))\b",
    re.I,
)
_PERSON_BEFORE = re.compile(
    r"\b(?:(?:call|met|meet|meeting|mtg|spoke|speak|talked|talk|chat|catch[- ]?up|sync|session|demo|workshop|intro|"
    r"lunch|coffee|dinner|along|together|w/|and me|and I|SE|AE) with|asked|told|per|cc|ping|pinged|email|emailed|"
    r"intro to|ask)\s*$",
    re.I,
)
# A department after a title ("Head of Digital Acquisition", "VP Audience"), a place after an event ("workshop in
# Amsterdam"), a regulator or body after "for"/"by" is no system.
_ROLE_BEFORE = re.compile(
    r"\b(?:head|director|dir|vp|svp|evp|avp|chief|manager|mgr|lead|officer)\.?(?:\s+(?:of|for)|,)?\s+$", re.I
)
# Countries, their people, states and provinces, sales regions and large cities (places.txt): "a penalty in
# Oregon", "their Canadian staff", "EMEA", "the Stockholm team" name no product.
PLACES = frozenset(
    line.strip()
    for line in (Path(__file__).with_name("places.txt")).read_text(encoding="utf-8").splitlines()
    if line.strip() and not line.startswith("#")
)
# What follows a bare name in a list: the next item, or the list's end.
_LIST_END = re.compile(r"\s*(?:$|[,.;:)!?]|(?:and|or|&)\s)")
# Abbreviations in the plural name things of a kind ("SSNs", "CBAs", "APIs"), never one product.
_PLURAL_ABBREVIATION = re.compile(r"[A-Z]{2,}s")


def _is_place(phrase: str) -> bool:
    """A place of the list, accents aside ("São Paulo")."""
    plain = "".join(c for c in unicodedata.normalize("NFKD", phrase) if not unicodedata.combining(c))
    return plain.lower().removesuffix("'s") in PLACES


_LAW_WORDS = frozenset("act acts law laws regulation regulations directive rule rules code standard".split())  # noqa: SIM905
# A tax or visa form ("W-2", "W-2s", "H-2B", "I-9") is no product; nor is a time zone ("4pm AWST", "10am ET").
_FORM = re.compile(r"[A-Z]-\d{1,4}[A-Z]?s?")
_TIME_ZONE = re.compile(r"(?:[ECMP][SD]?T|GMT|BST|CES?T|UTC|A[WCE][SD]T|NZ[SD]T|IST|JST|SGT|HKT)")
# A place: "their London office", "Stockholm visit", "in Norway/EU".
_PLACE_AFTER = re.compile(r"^(?:\s+(?:office|offices|visit|hq|headquarters|branch|campus)\b|\s*/\s*(?:EU|EEA|UK|US)\b)")
_PLACE_AFTER_REGION = re.compile(r"\b(?:EU|EEA|UK|US)\s*/\s*$")
_PLACE_BEFORE = re.compile(
    r"\b(?:workshop|meeting|mtg|office|onsite|on-site|based|located|headquartered|hq|conference|dinner|lunch|"
    r"plant)s? (?:in|at)\s+$",
    re.I,
)
# What a product does for the customer: "crm = dynamics 365", "PMS is Opera", "pos: square".
_CATEGORY_WORDS = (
    r"crm|erp|pos|pms|cms|esp|idp|bi|dwh|cdp|dmp|mdm|hris|ats|lms|wms|oms|ehr|emr|ecom|ecomm|e-?commerce|"
    r"email|payments?|billing|helpdesk|ticketing|warehouse|storefront|booking|bookings|analytics|accounting|"
    r"ads|paid|messaging|identity"
)
_CATEGORY = r"\b(?:" + _CATEGORY_WORDS + ")"
# A channel on a platform: "ads on meta", "store on shopify".
_CHANNEL_ON = re.compile(
    r"\b(?:ads?|advertising|campaigns?|paid|store|shop|site|website|data|events|payments|subs|subscriptions)\s+"
    r"(?:on|via|thru|through)\s+$",
    re.I,
)
_CATEGORY_BEFORE = re.compile(_CATEGORY + r"\s*(?:=|:|is|->)\s*$", re.I)
# Nouns that follow a product's name in a list: "hubspot crm", "squarespace site", "google ads".
_PRODUCT_NOUN = r"(?:crm|erp|site|store|shop|pos|ads|app|account|instance|workspace|sheets?|analytics|cloud|drive|api)"
_SYSTEM_BEFORE = re.compile(
    r"\b(?:in|into|from|on|via|using|use|uses|used|run|runs|on top of|with|replace|replacing|migrat\w+ (?:to|off|"
    r"from)|integrat\w+ with|connect\w* to|sync\w* (?:to|with)|our|their|the|existing|current|legacy|through|thru|"
    r"own|retire|retiring|off|(?:a lot|a bit|lots|tabs|bits) of)\s+$|" + _CATEGORY + r"\s*(?:=|:|is|->)\s*$",
    re.I,
)
_SYSTEM_AFTER = re.compile(
    r"^\s+for (?:the |their |all |our )?(?:" + _CATEGORY_WORDS + r"|support|tickets|courses|paywall|subscriptions|"
    r"reservations|res|scheduling|payroll|invoicing|outreach|events|audiences|loyalty|reviews|surveys|sms|push|chat|"
    r"forms|finance|funnels|attribution|reporting|dashboards)\b|^\s+(?:instance|org|tenant|warehouse|account|integration|connector|data|dashboards?|reports?|licen[cs]es?|"
    r"seats?|contract|renewal|admin|stack|workspace|project|environment|database|cluster|pipelines?|sync|export|"
    r"api|sso|audit|certification|report|subscription|type (?:i|ii|1|2))\b",
    re.I,
)
_SYSTEM_BEFORE_STRONG = re.compile(
    r"\b(?:integrat\w+|connect\w*|sync\w*|migrat\w+|replac\w+) (?:with|to|from|off)\s+$", re.I
)
_ITEM_HEAD = re.compile(r"([a-z][a-z0-9]+)(?=\s*(?:$|[,+/&;]|\band\b|\s" + _PRODUCT_NOUN + r"\s*(?:$|[,+/&;])))")
# "to google sheets", "on google ads": a product's usual second word after a place for a product; kinds of
# advertising are no product ("on paid ads", "in search ads").
_PRODUCT_SUFFIX = re.compile(r"\s+(?:ads|sheets?|analytics|workspace|drive|cloud|shopping|suite)\b", re.I)
_SUFFIX_PLACE = re.compile(r"\b(?:in|on|to|into|from|via|thru|through|using|with)\s+$", re.I)
_AD_TYPES = frozenset(
    "search paid display social video local native mobile print radio tv banner retargeting".split()  # noqa: SIM905
)
_ITEM_END = re.compile(r"\s*(?:$|[,.;)+/&]|\s(?:for|as)\b|\s\d{1,4}\b|\s" + _PRODUCT_NOUN + r"\b)", re.I)
# "competitive: none, today it's Excel": what they do today is no competitor.
_NO_RIVAL = re.compile(r"^\W*(?:none|no one|nobody|nothing|n/a)\b", re.I)
_STOPWORDS = frozenset(
    """a an the and or but of in on at to for with from by as is are was were be been it its this that these those
    their our your my his her they we you he she i all any some no not more most less very just also only then than
    so too up out over via per each every both other new old big small good bad none nothing nobody n/a tbd tbc
    mth mths pcm pa another one two three same whole entire single separate different own existing current legacy
    internal external shared""".split()  # noqa: SIM905
)
_CHAIN = re.compile(r"(?:,|\band|\bor|\+|/|&)\s*$")
_EVALUATING = re.compile(
    r"\b(?:evaluating|also (?:looking at|talking to|considering|evaluating|speaking (?:with|to|w/))|looking at|"
    r"comparing (?:us )?(?:with|w/|to|against)|talking (?:to|with|w/)|in talks (?:with|w/)|bake-?off (?:with|w/|"
    r"against)|vs\.?|versus|against|demoing|(?:also )?(?:pitching|bidding|competing|in the running)\s*:|eval'?ing|"
    # the customer's own calls with another vendor: "they've also had two calls with X"
    r"(?:they|she|he)(?:'ve| have| had)? (?:also |already )?(?:had|held|taken) (?:\w+ ){0,2}(?:calls?|meetings?|"
    r"demos?|conversations?|sessions?) (?:with|w/)|"
    # "finalists are X and Y", "evaluated X"; a list after a colon: "finalists they're looking at: X, Y, and us"
    r"finalists?(?: are| include)?|evaluated|(?:finalists?|shortlist(?:ed)?|considering|evaluating|looking at|"
    r"alternatives?)\s*:|"
    r"incumbent(?: is)?|shortlist(?:ed)?(?: includes)?|alternatives? (?:like|such as|is|are)|demoed|"
    r"(?:trialing|trialling|piloting)|competing with|up against|quote from|proposal from|pilot with|trial with|"
    r"(?:vendor|startup|company|tool|provider|platform|player|agency|consultancy|competitor) called|"
    # an alternative looked at, tried, demoed, quoted or chosen: "looked at X", "a demo from X", "signed w/ X"
    r"(?:looked|look|looks) at|considered|considering|tried|trialled|trialed|piloted|(?:demos?|pitch|pitches|quotes?|"
    r"proposal|bid|offer|rfp response) (?:from|by)|pitched by|quoted by|(?:went|go|going|gone) with|chose|"
    r"(?:just |recently |already )?signed (?:with|w/)|rfp to|"
    r"benchmark\w* against|instead of|"
    # the vendor they had or have for the same job: "incumbent vendor for segmentation = X", "a trial of X", "their
    # last analytics vendor, X"
    r"incumbent (?:\w+ ){0,4}(?:=|:|is|was)|(?:a |the )?trial of|bake-?off with|"
    r"(?:last|previous|former|old|prior) (?:\w+ ){0,2}(?:vendor|supplier)(?:,|:|=| was| called)?)\s*$",
    re.I,
)
# The same cues anywhere in a sentence (for names chained to a competitor).
_EVALUATING_ANYWHERE = re.compile(_EVALUATING.pattern.removesuffix(r"\s*$") + r"\s", re.I)
_WORD = re.compile(r"[^\W_][^\W_]*(?:[.&][^\W_]+|-[A-Z0-9][^\W_]*)*")
# A lower-case word in a place where a product stands: "orders in quickbooks", "mktg = mailchimp", "thru etsy".
_LOWER_SYSTEM_BEFORE = re.compile(
    r"(?:\b(?:in|on|via|thru|through|using|uses|use|used|runs?|running|into|w/|on top of|built on|hosted on|"
    r"exports?|exporting|exported|(?:pulls?|pulling|pulled|exports?|exporting) (?:\w+ )?from|synced? (?:to|"
    r"with|from)|moved? (?:to|off)|migrat\w+ (?:to|off|from)|switch\w* (?:to|from))|=)\s*$",
    re.I,
)
_LOWER_SYSTEM_AFTER = re.compile(
    r"\s*(?:$|[,.;)+/&(]|<>|->|\s(?:and|or|plus|on|in|for|to|with|via|w/|too|already|only|as|is|are|was|ourselves|"
    r"themselves|within|into|from|at|every|each|since|until|\d{1,4})\b|\s" + _PRODUCT_NOUN + r"\b|"
    # a plan of the product: "hubspot free", "hubspot enterprise"
    r"\s(?:free|pro|premium|enterprise|starter|basic|business|professional)\b)",
    re.I,
)
_SYSTEM_BEFORE_PLACE = re.compile(
    r"\b(?:in|into|via|using|uses|on top of|through|thru|retire|retiring|replace|replacing)\s+$", re.I
)
_CHAIN_AFTER = re.compile(r"^\s*(?:,|\+|/|&|\band\b|\bor\b)\s*$")
# After a competitor's name, the rest of its name may come first: "Brightwater Cloud and X".
_CHAIN_AFTER_RIVAL = re.compile(
    r"^(?:\s+[A-Z][\w&.-]*)*\s*(?:,|\+|/|&|\band\b|\bor\b)(?:\s+(?:from|with|w/))?\s*$"  # "from X and from Y"
)
# Evaluation cues after a name: "Cartolux, a smaller vendor", "X pitched them", "X quoted less".
_COMPETITOR_AFTER = re.compile(
    r"^\s*(?:,\s*(?:a|an|another)\s+(?:\w+\s+){0,2}(?:vendor|startup|provider|competitor|player|tool|platform)\b|"
    r"\s(?:pitched|quoted|came in|demoed|is cheaper|was cheaper|undercut|(?:is |are )?(?:also )?(?:pitching|bidding|"
    r"quoting)|(?:is |are |was )?(?:also |both )?(?:on|in) (?:the|their|our) (?:short|long)[- ]?list|(?:is |was )?in "
    r"the running)|\s+in (?:a|the|their) (?:poc|pilot|trial|bake-?off)\b|"
    # "floated X as the cheaper option", "X as an alternative", "X came up internally as an option", "X is the
    # other finalist"
    r"\s+(?:came up (?:\w+ ){0,2})?as (?:a|an|the) (?:\w+ ){0,2}(?:option|alternative|choice)\b|"
    r"\s+(?:is|was) (?:the|another|one) (?:other )?finalist\b|"
    # "X, so that's what we're up against"
    r",?\s+so (?:that's|thats|that is) (?:who|what) (?:we're|we are) up against)",
    re.I,
)


@functools.cache
def _vocabulary() -> frozenset[str]:
    """Whole words of the model's WordPiece vocabulary: a stand-in for 'a common English word' (product names such
    as Okta, Salesforce or Marketo are not in it; Snowflake, Slack and Segment are)."""
    words = (model_path() / "vocab.txt").read_text(encoding="utf-8").split()
    return frozenset(w for w in words if w.isalpha())


_SUFFIXES = ("ies", "es", "s", "ers", "er", "als", "al", "ments", "ment", "ings", "ing", "ed")


def _common(word: str) -> bool:
    """A word of the model's vocabulary, or one formed from one by a regular ending ("recruiters" from recruit,
    "referrals" from refer, "bookings"): a common English word, not a product's name."""
    lowered = word.lower()
    vocabulary = _vocabulary()
    if lowered in vocabulary:
        return True
    for suffix in _SUFFIXES:
        if lowered.endswith(suffix) and len(lowered) - len(suffix) >= 3:
            stem = lowered[: -len(suffix)]
            doubled = stem[:-1] if len(stem) > 3 and stem[-1] == stem[-2] else stem
            if {stem, doubled, stem + "e", stem + "y"} & vocabulary:
                return True
    return False


def names_in(sentence: NoteSentence, facts: NoteFacts) -> Iterable[tuple[str, str]]:
    """(competitor | system, name) for each name in the sentence."""
    text = sentence.text
    lowered = text.lower()
    taken: list[tuple[int, int]] = []
    for alias, display in sorted(facts.competitors.items(), key=lambda kv: -len(kv[0])):
        for m in re.finditer(r"(?<![\w-])" + re.escape(alias) + r"(?![\w-])", lowered):
            if any(m.start() < e and s < m.end() for s, e in taken):
                continue
            taken.append((m.start(), m.end()))
            yield "competitor", display
    for m in re.finditer(r"[^\W\d_]{5,}", text):
        if any(m.start() < e and s < m.end() for s, e in taken):
            continue
        rival = _misspelt_competitor(m.group(0), facts.competitors)
        if rival is not None:
            taken.append((m.start(), m.end()))
            yield "competitor", rival
    phrases = [p for p in _capitalised_phrases(text) if not any(p[0] < e and s < p[1] for s, e in taken)]
    kinds: list[str | None] = []
    prior_system = False
    for start, end, phrase in phrases:
        kind = _name_kind(text, start, end, phrase, facts, sentence, prior_system)
        prior_system = kind == "system"
        kinds.append(kind)
    # A name in title case listed after a place is a place too: "people in London, Austin, Lisbon and Porto",
    # "Boston and San Diego" (not one before it: "EMEA runs Workday, APAC runs spreadsheets"; not an acronym: "in
    # Norway/EU, GDPR + DPIA").
    places = [_is_place(phrase) for _, _, phrase in phrases]
    for i in range(len(phrases) - 1):
        words = phrases[i + 1][2].split()
        # A law named after a place is no place: "data must stay in AU, Privacy Act".
        titled = all(w[:1].isupper() and w[1:].islower() for w in words) and words[-1].lower() not in _LAW_WORDS
        bare = _LIST_END.match(text[phrases[i + 1][1] :]) is not None  # not "in Denver, Gusto for payroll"
        if places[i] and titled and bare and _CHAIN_AFTER.match(text[phrases[i][1] : phrases[i + 1][0]]):
            places[i + 1] = True
    kinds = [None if place else kind for kind, place in zip(kinds, places, strict=True)]
    # A name chained to a system that follows it is one too: "ads: Google + TikTok", "Google/Meta".
    for i in range(len(phrases) - 2, -1, -1):
        start, end, phrase = phrases[i]
        chained = (
            kinds[i] is None
            and not places[i]
            and kinds[i + 1] == "system"
            and _CHAIN_AFTER.match(text[end : phrases[i + 1][0]])
        )
        if chained and _could_be_system(text, start, phrase, facts):
            kinds[i] = "system"
    # A name chained to a competitor in a sentence that frames alternatives is one too: "also talking to X and Y".
    rivals = list(taken)
    framed = sentence.section == "competitors" or _EVALUATING_ANYWHERE.search(text) is not None
    for i, (start, end, phrase) in enumerate(phrases):
        if kinds[i] == "competitor":
            rivals.append((start, end))
        elif (
            framed
            and not places[i]
            and any(_CHAIN_AFTER_RIVAL.match(text[e:start]) for _, e in rivals if e <= start)
            and _could_be_system(text, start, phrase, facts)
            and not _PERSON_AFTER.match(text[end:])
        ):
            kinds[i] = "competitor"
            rivals.append((start, end))
    found = [(p[0], k, p[2]) for p, k in zip(phrases, kinds, strict=True) if k is not None and len(p[2]) > 1]
    found += list(_lower_case_names(text, sentence, facts, taken))
    for _, kind, phrase in sorted(found):
        yield kind, phrase


# What a person does in a note: "Priyanka spoke with ...", "Omar asked ...", "Dee booked a demo".
_PERSON_VERB = re.compile(
    r"\s+(?:said|says|asked|asks|spoke|speaks|talked|booked|met|called|emailed|messaged|texted|mentioned|noted|"
    r"thinks|thought|agreed|joined|confirmed|promised|explained|complained|wondered|pushed back|"
    r"handed|introduced|is out|is on leave)\b"
)


def people_in(text: str) -> set[str]:
    """Lower-case words of capitalised names the note shows to be people ("Priyanka spoke with the owner") that are
    no common word: such a name is no system anywhere in the note."""
    found: set[str] = set()
    for m in re.finditer(r"(?<![\w.])([A-Z][a-z]{2,})(?: ([A-Z][a-z]{2,}))?(?=\s)", text):
        if _PERSON_VERB.match(text, m.end()):
            found |= {w.lower() for w in m.groups() if w and not _common(w) and w not in _NOT_NAMES}
    return found


def _misspelt_competitor(word: str, competitors: dict[str, str]) -> str | None:
    """The battlecard a word misspells: one edit from a one-word name of six letters or more (two from one of
    nine or more), and no common word itself ("Tesselate" for Tessellate; never "query" for Quarry)."""
    lowered = word.lower()
    if lowered in _vocabulary() or lowered in competitors:
        return None
    near = [
        display
        for alias, display in competitors.items()
        if len(alias) >= 6
        and alias.isalpha()
        and abs(len(alias) - len(lowered)) <= 2
        and _edit_distance(lowered, alias) <= (1 if len(alias) < 9 else 2)
    ]
    return max(near, key=len) if near else None  # the fullest display name of the battlecard


def _edit_distance(a: str, b: str) -> int:
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def _lower_case_names(
    text: str, sentence: NoteSentence, facts: NoteFacts, taken: list[tuple[int, int]]
) -> Iterable[tuple[int, str, str]]:
    """(start, kind, word) for products written in lower case, as reps do ("orders in quickbooks", "stack: shopify
    + klaviyo"): a word that is no word of the model's vocabulary (nor its plural, nor shorthand), where a product
    stands: after "in", "on", "via", "thru", "=", in a list that started with a system, first in a line of a
    systems section, or heading an item of a list line ("mindbody for bookings, squarespace site, mailchimp"); and
    ending a phrase (then punctuation, a list, a preposition, a product noun: "hubspot crm"): "on influencer codes"
    is no product. A common word is a product only where the note says what it does ("pos = square", "crm:
    dynamics 365", "ads on meta", "databricks on azure") or in a list line of products. After an evaluation cue
    ("looked at brightfunnel") the word is a competitor."""
    items = _list_items(text)
    found: list[tuple[int, str, str]] = []
    prior = False
    last_end = -1  # the end of the last product found: "databricks on azure"
    for m in re.finditer(r"(?<![\w/@.'-])[a-z0-9][a-z0-9]*(?:\.[a-z]{2,4})?(?![\w/@'-])", text):
        word = m.group(0)
        if any(m.start() < e and s < m.end() for s, e in taken):
            prior = False
            continue
        before = text[: m.start()]
        eligible = (
            word not in _SHORTHAND
            and word.upper() not in _NOT_SYSTEMS
            and not _is_person_word(word, facts)
            and word not in facts.own_names
            and re.search(r"[a-z]", word) is not None
            and not re.fullmatch(r"\d+(?:st|nd|rd|th|am|pm|k|m|x|h|s|d|w|hrs?|mins?|yrs?|mos?|wks?|pts?|ish)", word)
            and len(word) >= 2
        )
        unknown = eligible and not _common(word)
        told = (
            eligible
            and word not in _STOPWORDS | _AD_TYPES
            and (
                (_SUFFIX_PLACE.search(before) is not None and _PRODUCT_SUFFIX.match(text[m.end() :]) is not None)
                or _CATEGORY_BEFORE.search(before) is not None
                or (_CHANNEL_ON.search(before) is not None and not word.endswith("s"))
                or (last_end >= 0 and re.fullmatch(r"\s+on\s+", text[last_end : m.start()]) is not None)
            )
        )
        chained = prior and bool(_CHAIN.search(before))
        first = sentence.section == "systems" and not before.strip()
        placed = bool(_LOWER_SYSTEM_BEFORE.search(before)) or chained or first
        ends = _LOWER_SYSTEM_AFTER.match(text[m.end() :]) is not None
        if not placed and m.start() in items:  # an item's head: "gorgias for support", "zendesk," not "waitlist in"
            placed = ends = _ITEM_END.match(text[m.end() :]) is not None
        if unknown and _EVALUATING.search(before) and ends:
            found.append((m.start(), "competitor", word))
            prior = False
            continue
        prior = (unknown and placed and ends) or (told and ends)
        if prior:
            found.append((m.start(), "system", word))
            last_end = m.end()
    # In a list line that names two products or more, the other one-word items are products too ("shopify,
    # google ads, gorgias for support").
    if items and sum(kind == "system" for _, kind, _ in found) >= 2:
        starts = {start for start, _, _ in found}
        for start in sorted(items - starts):
            head = _ITEM_HEAD.match(text, start)
            word = head.group(1) if head else ""
            free = not any(start < e and s < start + len(word) for s, e in taken)
            if word and free and word not in _STOPWORDS | _SHORTHAND and not _is_person_word(word, facts):
                found.append((start, "system", word))
    return sorted(found)


def _list_items(text: str) -> set[int]:
    """Starts of the items of a list line ("magento 2, dotdigital, zendesk"): two items or more, each of four words
    at most; empty for a sentence."""
    starts, pos = [], 0
    for part in re.split(r"(\s*(?:[,+/&;]|\band\b|\bplus\b)\s*)", text):
        if part and not re.fullmatch(r"\s*(?:[,+/&;]|\band\b|\bplus\b)\s*", part):
            if len(part.split()) > 4:
                return set()
            starts.append(pos + len(part) - len(part.lstrip()))
        pos += len(part)
    return set(starts) if len(starts) >= 2 else set()


def _could_be_system(text: str, start: int, phrase: str, facts: NoteFacts) -> bool:
    """False for a person of the deal, the account or our product, a role ("VP Demand Gen", but "in Google Ad
    Manager" is a product), abbreviations and holidays."""
    words = phrase.replace("&", " ").replace("-", " ").split()
    lowered = [w.lower() for w in words]
    placed = _SYSTEM_BEFORE_PLACE.search(text[:start]) is not None
    return not (
        any(_is_person_word(w, facts) for w in lowered)
        or any(w in facts.own_names and not _common(w) for w in lowered)
        or all(w in facts.own_names for w in lowered)
        or (any(_is_role_word(w) for w in words) and not placed)
        or all(_is_abbreviation(w) or w in _NOT_NAMES for w in words if not w.isdigit())
        or _HOLIDAYS.fullmatch(phrase) is not None
    )


def _is_person_word(word: str, facts: NoteFacts) -> bool:
    """An attendee's or stakeholder's name word, or the start of one ("Vik" for Vikram)."""
    return word in facts.people or (len(word) >= 3 and any(p.startswith(word) for p in facts.people if len(p) > 4))


def _is_role_word(word: str) -> bool:
    return word.lower().rstrip(".") in _TITLE_WORDS or bool(re.fullmatch(r"C[A-Z]{1,3}O", word))


def _is_abbreviation(word: str) -> bool:
    """A business abbreviation, shorthand, a fiscal period or an emphasised English word, plurals included."""
    upper = word.upper()
    singular = upper[:-1] if upper.endswith("S") and len(upper) > 2 else upper
    return (
        upper in _NOT_SYSTEMS
        or singular in _NOT_SYSTEMS
        or upper in _REGULATORS
        or upper in _SALES_TERMS
        or word.lower() in _SHORTHAND
        or word in _EMPHASIS
        or _NOT_SYSTEM_PATTERN.fullmatch(word) is not None
    )


def _capitalised_phrases(text: str) -> Iterable[tuple[int, int, str]]:
    """Runs of capitalised words, acronyms, inner-capital words and numbers after them ("SOC 2", "Power BI")."""
    words = list(_WORD.finditer(text))
    i = 0
    while i < len(words):
        w = words[i].group(0)
        if not _is_capital(w):
            i += 1
            continue
        j = i + 1
        while j < len(words) and text[words[j - 1].end() : words[j].start()] in (" ", " & ", "-"):
            nxt = words[j].group(0)
            if _is_capital(nxt) or (nxt.isdigit() and len(nxt) <= 5) or re.fullmatch(r"[IVX]{1,3}|\d+[a-z]?", nxt):
                j += 1
            else:
                break
        # Drop leading words that are no names ("The", "Our", "Pain"), and a sentence's first word when it is a
        # common word ("Met Anil Kapoor").
        while i < j and (
            words[i].group(0) in _NOT_NAMES
            or (i == 0 and j - i > 1 and words[i].group(0).lower() in _vocabulary() and words[i].group(0)[1:].islower())
        ):
            i += 1
        if i < j:
            yield words[i].start(), words[j - 1].end(), text[words[i].start() : words[j - 1].end()]
        i = max(j, i + 1)


def _is_capital(word: str) -> bool:
    """Capitalised, inner capitals ("eComm", "ezyVet"), or a number run into a word ("6sense")."""
    return word[:1].isupper() or bool(re.search(r"[a-z][A-Z]", word) or re.fullmatch(r"\d+[a-z]{4,}", word))


def _strong(word: str) -> bool:
    """A word that looks like a product name wherever it stands."""
    if _is_abbreviation(word):
        return False
    if re.search(r"[a-z][A-Z]", word) or (re.search(r"\d", word) and re.search(r"[A-Za-z]", word)):
        return True
    if word.isupper():
        return len(word) >= 3 and not word.isdigit()  # two capitals ("FF", "DK") need a system's place or section
    return word[:1].isupper() and not _common(word) and word not in _NOT_NAMES


def _name_kind(
    text: str, start: int, end: int, phrase: str, facts: NoteFacts, sentence: NoteSentence, prior_system: bool = False
) -> str | None:
    words = phrase.replace("&", " ").replace("-", " ").split()
    before, after = text[:start], text[end:]
    if not _could_be_system(text, start, phrase, facts):
        return None
    if _is_place(phrase) or _FORM.fullmatch(phrase) or _PLURAL_ABBREVIATION.fullmatch(phrase):
        return None  # "Oregon", "Canadian", "EMEA"; "W-2", "H-2B"; "SSNs", "CBAs" (things of a kind, no product)
    if _TIME_ZONE.fullmatch(phrase):
        return None  # "call at 4pm AWST"
    if _ROLE_BEFORE.search(before) or _PLACE_BEFORE.search(before):
        return None  # "Head of Digital Acquisition", "workshop in Amsterdam"
    if _PLACE_AFTER.match(after) or _PLACE_AFTER_REGION.search(before):
        return None  # "their London office", "stay in Norway/EU"
    if re.fullmatch(r"[A-Z]{2,3}", phrase) and _PERSON_VERB.match(after):
        return None  # a person's initials: "DK asked why ..."
    label_start = all(w in _NOT_NAMES for w in before.split())
    if label_start and after.startswith(":") and all(_common(w) for w in words):
        return None  # a field's label: "Step Date: 2026-12-03"
    technical = any(re.search(r"[a-z][A-Z]|\d", w) or (w.isupper() and len(w) > 1) for w in words)
    person_cue = _PERSON_AFTER.match(after) or (
        _PERSON_BEFORE.search(before) and not _SYSTEM_BEFORE_STRONG.search(before)
    )
    if person_cue and not technical:
        return None
    strong = any(_strong(w) for w in words)
    contextual = bool(_SYSTEM_BEFORE.search(before) or _SYSTEM_AFTER.match(after))
    at_start = not before.strip() or before.rstrip().endswith((":", "-", "(", "/"))
    title_case = len(words) >= 2 and all(w.isalpha() and w[0].isupper() and w[1:].islower() for w in words)
    if _CHAIN.search(before) and prior_system:
        contextual = True  # "Gong and Outreach", "Google/Meta": a list that started with a system
        at_start = False
    rival_place = sentence.section == "competitors" or _EVALUATING.search(before) is not None
    if title_case and all(w.lower() not in _vocabulary() for w in words) and not contextual and not rival_place:
        return None  # "Priya Raman": two unknown capitalised words read as a person's name
    if len(words) >= 2 and not at_start and all(w.lower() in _vocabulary() or w.isupper() for w in words):
        contextual = True  # common words capitalised together mid-sentence name a product: "Google Ads", "Power BI"
    labelled = before.rstrip().endswith(":")  # "also pitching: X"
    if _COMPETITOR_AFTER.match(after) or (
        _EVALUATING.search(before) and (strong or contextual or not at_start or labelled)
    ):
        return "competitor"
    if sentence.section == "competitors" and (strong or not at_start) and not _NO_RIVAL.match(text):
        return "competitor"
    if strong:
        return "system"
    if contextual and not at_start and len(phrase) > 2:
        return "system"
    if sentence.section == "systems" and len(phrase) > 2:
        return "system"
    return None
