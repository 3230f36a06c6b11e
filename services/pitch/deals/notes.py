"""Extractive analysis of meeting notes: rules and the embedding model, no generated text.

Every item is a sentence of the note (or a name in it) with the sentence's index. A note is split line by line
(bullets and headings kept apart), then into sentences. Headings ("Pains:", "Next steps") and inline labels
("Objection - ...") set the kind of the lines under them. Otherwise each sentence is classed by cue phrases and
by cosine to a few generic prototype sentences per kind (all-MiniLM-L6-v2): a cue needs a modest similarity, no
cue needs a high one and a margin over every other kind. Names: competitors are the deal's, the organisation's
battlecards' and any capitalised name after an evaluation cue ("also looking at X"); systems are capitalised
product-like names (inner capitals, digits, acronyms outside a list of business abbreviations, words that are no
common English word by the model's vocabulary, or common words in a system context: "in Snowflake"), never
people (attendees, stakeholders, a name followed by "said"/"asked"...), months, our product or the account.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np

from services.core.text import split_sentences
from services.core.tokens import model_path
from services.pitch.deals.dates import find_dates

ANALYSER_VERSION = 1
KINDS = ("pain", "goal", "objection", "commitment", "next_step")

_HEADING_RE = {
    "pain": r"pains?|pain points?|challenges?|problems?|issues?|struggles?|current state",
    "goal": r"goals?|objectives?|priorities|desired outcomes?|success criteria|wants|needs",
    "objection": r"objections?|concerns?|risks?|push ?back|blockers?|hesitations?|red flags?",
    "commitment": r"commitments?|action items?|actions?|to ?dos?|owes?|we owe|they owe|AIs?|follow[- ]?ups?",
    "next_step": r"next steps?|NS|next",
    "systems": r"tech stack|stack|systems?|tools?|current tools?|integrations?",
    "competitors": r"competition|competitors?|alternatives?|also evaluating",
}
_LABEL = re.compile(
    r"^\s*(?P<label>"
    + "|".join(f"(?P<{k}>{v})" for k, v in _HEADING_RE.items())
    + r")\s*(?:[:\-\u2013\u2014=>]+\s*|$)",
    re.I,
)
_BULLET = re.compile(r"^\s*(?:[-*+•·>]+|\d{1,2}[.)]|\(?[a-z]\))\s+")

_CUES: dict[str, re.Pattern[str]] = {
    "pain": re.compile(
        r"\b(struggl\w*|pain\w*|frustrat\w*|manual(ly)?|spreadsheets?|by hand|too (long|slow|many|much)|"
        r"takes? (them |us )?(days|weeks|hours|forever|ages)|hours (a|per|each|every) (week|month|day)|"
        r"can'?t|cannot|unable|no (visibility|way|single|idea|insight|view)|don'?t (know|trust)|hard to|difficult|"
        r"broken|problem\w*|challeng\w*|bottleneck\w*|error[- ]prone|stitch\w*|silo\w*|churn\w*|losing|lost|"
        r"wast\w*|blind|complain\w*|headache\w*|fire ?drill\w*|mess\w*|nightmare|inconsistent|disconnected|"
        r"duplicat\w*|out of date|stale|doesn'?t scale|not scal\w*|miss(es|ed|ing) (targets?|forecasts?|numbers?)|"
        r"no (link|join|early warning|consolidated|source|single|idea)|nobody|no one|never|unhappy|guesswork|"
        r"black box|(don'?t|doesn'?t|do not|does not) (trust|know|see)|flat|dropped|declin\w*|(down|up) \d|"
        r"eating|spans? \d+|\d+ different|(three|four|five|several) different|los(e|es|ing)|leav(e|es|ing)|"
        r"switch(es)? (supplier|vendor|provider)|by email|typed|rebuild\w*|assembl\w* manually)\b",
        re.I,
    ),
    "goal": re.compile(
        r"\b(wants? (a|an|one|to|the|all|proof|\w+ing)|would like|goal\w*|aim\w*|looking to|"
        r"hop(e|es|ing) to|priorit\w*|"
        r"objective\w*|target\w*|plans? to|trying to|mandate\w*|initiative\w*|need(s)? (a|an|one|to (get|have|"
        r"cut|reduce|grow|increase|consolidate|improve|prove|show|see|be|move))|by (q[1-4]|end of (the )?year|"
        r"next year)|success (looks like|means|=))\b",
        re.I,
    ),
    "objection": re.compile(
        r"\b(concern\w*|worr\w*|objection\w*|push(ed)? ?back|skeptic\w*|sceptic\w*|hesita\w*|disaster|bad experience|"
        r"(needs?|takes?|requires?) \d+([-\u2013]\d+)? (weeks|months)|\d+ (week|month) process|takes forever|"
        r"(has been|was|were|got) cut|cut by|can'?t spend|more than \$|would need to see|before anything else|"
        r"compar\w* (us )?against|three quotes|insist\w*|"
        r"not (sure|convinced|a priority|in (the )?budget)|doubt\w*|(too |very |really )?(expensive|pricey|"
        r"costly)|price (is|was|seems|looks)|(cost|price|pricing) (is|was) (too |a )|budget (is|was) (tight|"
        r"frozen|cut|spent|gone|limited)|no budget|budget freeze|already (have|has|use|uses|pay|paying|own|"
        r"invested)|why (would|should|do) (they|we|i)|afraid|don'?t see (the|a) (need|point|value)|"
        r"bad timing|timing is|locked in\w*|(their |the )?contract (runs|renews|ends)|can'?t justify|"
        r"red flag|blocker|deal[- ]?breaker|hard sell|questioned|objected|resist\w*|risky|risk (of|that|averse)|"
        r"overlap\w*|"
        r"wary|nervous|(isn'?t|wasn'?t|aren'?t) (keen|sold|convinced|comfortable)|too (complex|complicated|much "
        r"change)|(another|one more) (tool|vendor|platform))\b",
        re.I,
    ),
    "commitment": re.compile(
        r"\b(will|'ll|agreed to|committed to|promised( to)?|owes?|to send|going to|offered to)\s+(\w+\s+)?"
        r"(send|share|intro\w*|introduce|loop in|connect|set up|provide|review|confirm|check|draft|prepare|"
        r"forward|get|pull|book|schedule|run|bring|invite|follow up|circle back|ask|email|write|put together)\b|"
        r"\b(action item|AI:|owner:)",
        re.I,
    ),
    "next_step": re.compile(
        r"\b(next steps?|follow[- ]?up (call|meeting|session|demo)?|booked|scheduled|sched\b|calendar (invite|"
        r"hold)|invite (sent|out)|(set|setting) up (a|the) (call|meeting|demo|session|workshop)|meet again|"
        r"reconvene|regroup|circle back|(re)?connect (again|on|next)|check[- ]?in|sync (on|up|again|next)|"
        r"demo (on|for|next)|workshop|deep[- ]?dive|kick[- ]?off|onsite|on-site|readout|(call|meeting|session|"
        r"review|presentation|demo) (on|for|set for|booked for|at)|decision (call|meeting|date)|signing)\b",
        re.I,
    ),
}
# An event both sides attend: a dated sentence naming one is a scheduled next step.
_EVENT = re.compile(
    r"\b(call|meeting|mtg|demo|session|workshop|review|sync|check[- ]?in|kick[- ]?off|presentation|readout|"
    r"onsite|on-site|deep[- ]?dive|walkthrough|walk-through|decision|signing|sign|pilot|poc|trial|"
    r"follow[- ]?up|next step|reconvene|regroup|meet|meeting|steering (?:group|committee|meeting)|committee|"
    r"board meeting|interview|visit)s?\b",
    re.I,
)
_UNDATED = re.compile(
    r"\b(tbd|tbc|no (date|time|next step|follow[- ]?up)|not (yet )?(scheduled|booked|set|agreed)|"
    r"(didn'?t|did not|couldn'?t|could not|wouldn'?t|won'?t) (book|set|schedule|agree|commit|lock|get)|"
    r"(date|time) (to be|still|is) (confirmed|decided|tbd|open|unclear)|will get back|get back to us|"
    r"unclear when|nothing (booked|scheduled)|when they can|at some point|some time|sometime|"
    r"no (next )?(meeting|mtg|call|demo|date|day|time)s?( (yet|set|booked|agreed|on the (calendar|books)))?|"
    r"none (set|booked|agreed|formally|yet)|will confirm (the )?(day|date|time))\b",
    re.I,
)

_NO_OBJECTION = re.compile(
    r"\b(no (objections?|concerns?|pushback)|(did not|didn'?t) (raise|have) (any )?(concerns?|objections?)|"
    r"(did not|didn'?t) have concerns|not an issue|is not an issue)\b",
    re.I,
)

PROTOTYPES: dict[str, tuple[str, ...]] = {
    "pain": (
        "Our team spends hours every week doing this by hand.",
        "We have no visibility into which of our efforts are working.",
        "The current process is slow, error-prone and frustrating.",
        "Reports take days to put together and the numbers never match.",
        "We keep losing customers and we don't know why.",
        "Data is scattered across too many tools.",
    ),
    "goal": (
        "We want to cut the time this takes in half.",
        "Their goal is to grow revenue twenty percent this year.",
        "They are looking to consolidate tools and reduce cost.",
        "The priority for next year is one view of the customer.",
        "Success for them means a forecast they can trust.",
    ),
    "objection": (
        "They think the price is too high for their budget.",
        "The finance lead is worried about the cost.",
        "They are concerned the security review will take too long.",
        "They already have a tool that does this and don't see why they need another.",
        "He is skeptical that the rollout will be quick.",
        "Legal pushed back on the contract terms.",
    ),
    "commitment": (
        "We will send the proposal by Friday.",
        "They agreed to share their current reports with us.",
        "I promised to introduce them to a reference customer.",
    ),
    "next_step": (
        "We booked a demo for next Tuesday with their team.",
        "Follow-up call scheduled for 3 March.",
        "Next step: technical deep-dive on the 12th.",
    ),
    "neutral": (
        "Attendees were the head of marketing and two analysts.",
        "Good call overall, friendly team.",
        "They have about two hundred employees across three offices.",
        "We walked through the dashboards and the setup.",
        "Introductions and agenda.",
    ),
}
# Cosine floors, chosen on the first half of evals/notes (README "Deals"): with a cue phrase, and without one
# (then also a margin over every other kind).
CUE_FLOOR = 0.05
BARE_FLOOR = 0.55
BARE_MARGIN = 0.08

# Business abbreviations, roles and time words that are no system (general, not any catalogue's).
_NOT_SYSTEMS = frozenset(
    """CEO CFO CTO CIO CISO CMO COO CRO CPO CDO VP SVP EVP AVP GM MD HR IT PM AM EOD EOW EOM COB ASAP TBD TBC FYI
    ROI TCO KPI KPIS OKR OKRS ARR MRR NRR CAC LTV QBR POC POCS MVP RFP RFI RFQ MSA NDA DPA SOW SLA SLAS SSO SCIM
    MFA API APIS SDK ETL ELT CRM ERP CDP BI ML AI UI UX US USA EU UK EMEA APAC NA LATAM Q1 Q2 Q3 Q4 H1 H2 FY YOY
    QOQ B2B B2C SAAS SMB AE SE SDR BDR CSM CS PS FTE FTES OK ID PDF CSV SQL JSON HQ NS DR ICP VPN PII SEO SEM
    PPC ABM IPO IMO TLDR RE FW CC BCC PO SKU SKUS GTM PLG NPS CSAT MQL MQLS SQLS DB DBA QA OOO PTO DM RIF YTD
    MTD WAU MAU DAU REST SOAP SFTP FTP ACV TCV MAP TAM SAM ROAS CPA CPC CPM CTR REVOPS LIVEOPS DEVOPS SECOPS
    FINOPS SALESOPS MARTECH MOPS PMS OTA HCP PQL BAA""".split()  # noqa: SIM905
)
_NOT_NAMES = frozenset(
    [
        "I",
        "We",
        "They",
        "He",
        "She",
        "It",
        "You",
        "Our",
        "Their",
        "His",
        "Her",
        "The",
        "A",
        "An",
        "This",
        "That",
        "These",
        "Those",
        "Also",
        "And",
        "But",
        "Or",
        "So",
        "Then",
        "Next",
        "Pain",
        "Pains",
        "Goal",
        "Goals",
        "Objection",
        "Objections",
        "Concern",
        "Concerns",
        "Risk",
        "Risks",
        "Commitment",
        "Commitments",
        "Action",
        "Actions",
        "Items",
        "Notes",
        "Note",
        "Call",
        "Meeting",
        "Attendees",
        "Agenda",
        "Summary",
        "Recap",
        "Todo",
        "Follow",
        "Followup",
        "Overall",
        "Good",
        "Great",
        "Strong",
        "Weak",
        "Need",
        "Needs",
        "Want",
        "Wants",
        "Key",
        "Main",
        "Discussed",
        "Demo",
        "Intro",
        "Discovery",
        "Monday",
        "Tuesday",
        "Wednesday",
        "Thursday",
        "Friday",
        "Saturday",
        "Sunday",
        "Mon",
        "Tue",
        "Tues",
        "Wed",
        "Thu",
        "Thur",
        "Thurs",
        "Fri",
        "Sat",
        "Sun",
        "January",
        "February",
        "March",
        "April",
        "May",
        "June",
        "July",
        "August",
        "September",
        "October",
        "November",
        "December",
        "Jan",
        "Feb",
        "Mar",
        "Apr",
        "Jun",
        "Jul",
        "Aug",
        "Sep",
        "Sept",
        "Oct",
        "Nov",
        "Dec",
        "Today",
        "Tomorrow",
        "EOW",
        "Yes",
        "No",
        "Not",
        "None",
        "Tech",
        "Stack",
        "Systems",
        "Tools",
        "Competition",
        "Competitors",
        "Status",
        "Budget",
        "Timeline",
        "Decision",
        "Process",
        "Team",
        "Finance",
        "Legal",
        "Security",
        "Procurement",
        "Marketing",
        "Sales",
        "Engineering",
        "Product",
        "Board",
        "Ops",
        "Operations",
        "Data",
        "Analytics",
        "Revenue",
        "Support",
        "Customer",
        "Customers",
        "Success",
        "IT",
        "HR",
        "Exec",
        "Execs",
        "Leadership",
        "Management",
        "CFO",
        "CEO",
        "Mr",
        "Ms",
        "Mrs",
        "Dr",
        "Q",
        "Quarter",
        "Per",
        "Via",
        "Re",
        "Cc",
        "Ok",
        "Okay",
        "Hi",
        "Thanks",
        "Thank",
        "Please",
        "Will",
        "Would",
        "Should",
        "Could",
        "Can",
        "Might",
        "Must",
        "Just",
        "Still",
        "Only",
        "Everyone",
        "Anyone",
        "Nobody",
        "Someone",
        "Both",
        "Each",
        "Every",
        "All",
        "Some",
        "Most",
        "Many",
        "Few",
        "Lots",
        "Very",
        "Much",
        "More",
        "Less",
        "Early",
        "Late",
        "Price",
        "Pricing",
        "Cost",
        "Costs",
        "Contract",
        "Renewal",
        "Proposal",
        "Quote",
        "Trial",
        "Pilot",
        "Workshop",
        "Session",
        "Review",
        "Kickoff",
        "Onsite",
    ]
)
_PERSON_AFTER = re.compile(
    r"^\s*(?:'s\s+(?:team|boss|manager|role|view|concern|take)|\((?:[A-Z][\w&/ ]{1,30})\)|,\s*(?:the\s+)?"
    r"(?:head|vp|director|chief|manager|cfo|cio|cto|ciso|cmo|ceo|lead|owner)\b|\s+(?:said|says|asked|asks|wants|"
    r"wanted|mentioned|thinks|thought|noted|raised|pushed|agreed|joined|confirmed|promised|owes|explained|"
    r"shared|described|complained|worries|worried|is worried|was worried|is concerned|was concerned|"
    r"(?:will|'ll|to) (?:send|share|intro|introduce|loop|check|confirm|get|ask|review|talk|bring)|"
    r"runs|leads|manages|owns|reports|is (?:the|our|their|a) (?:\w+ )?(?:champion|sponsor|buyer|lead|head)))\b",
    re.I,
)
_PERSON_BEFORE = re.compile(r"\b(?:with|asked|told|per|cc|ping|pinged|email|emailed|intro to|ask)\s*$", re.I)
_SYSTEM_BEFORE = re.compile(
    r"\b(?:in|into|from|on|via|using|use|uses|used|run|runs|on top of|with|replace|replacing|migrat\w+ (?:to|off|"
    r"from)|integrat\w+ with|connect\w* to|sync\w* (?:to|with)|our|their|the|existing|current|legacy)\s+$",
    re.I,
)
_SYSTEM_AFTER = re.compile(
    r"^\s+(?:instance|org|tenant|warehouse|account|integration|connector|data|dashboards?|reports?|licen[cs]es?|"
    r"seats?|contract|renewal|admin|stack|workspace|project|environment|database|cluster|pipelines?|sync|export|"
    r"api|sso|audit|certification|report|subscription|type (?:i|ii|1|2))\b",
    re.I,
)
_SYSTEM_BEFORE_STRONG = re.compile(
    r"\b(?:integrat\w+|connect\w*|sync\w*|migrat\w+|replac\w+) (?:with|to|from|off)\s+$", re.I
)
_CHAIN = re.compile(r"(?:,|\band|\bor|\+|/|&)\s*$")
_EVALUATING = re.compile(
    r"\b(?:evaluating|also (?:looking at|talking to|considering|evaluating|speaking with)|looking at|comparing "
    r"(?:us )?(?:with|to|against)|talking to|in talks with|bake-?off (?:with|against)|vs\.?|versus|against|"
    r"incumbent(?: is)?|shortlist(?:ed)?(?: includes)?|alternatives? (?:like|such as|is|are)|demoed|"
    r"(?:trialing|trialling|piloting)|competing with|up against|quote from|proposal from)\s*$",
    re.I,
)
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9]*(?:[.&][A-Za-z0-9]+|-[A-Z0-9][A-Za-z0-9]*)*")


@functools.cache
def _vocabulary() -> frozenset[str]:
    """Whole words of the model's WordPiece vocabulary: a stand-in for 'a common English word' (product names such
    as Okta, Salesforce or Marketo are not in it; Snowflake, Slack and Segment are)."""
    words = (model_path() / "vocab.txt").read_text(encoding="utf-8").split()
    return frozenset(w for w in words if w.isalpha())


@dataclass(frozen=True, slots=True)
class NoteSentence:
    index: int
    text: str
    section: str | None  # the kind a heading or label gave it


@dataclass
class NoteFacts:
    """What the analysis needs beside the text: resolved against the meeting and the deal."""

    meeting_date: date
    competitors: dict[str, str] = field(default_factory=dict)  # lower-case alias -> display name
    people: set[str] = field(default_factory=set)  # lower-case words of attendees' and stakeholders' names
    own_names: set[str] = field(default_factory=set)  # lower-case: our product(s), the account's name words


def split_note(text: str) -> list[NoteSentence]:
    """Lines first (a heading line sets the kind of the lines under it until a blank line or another heading),
    then sentences within each line."""
    out: list[NoteSentence] = []
    section: str | None = None
    for raw in text.splitlines():
        if not raw.strip():
            section = None
            continue
        line = _BULLET.sub("", raw).strip()
        label = _LABEL.match(line)
        line_section = section
        if label is not None:
            kind = next(k for k in _HEADING_RE if label.group(k))
            rest = line[label.end() :].strip()
            if not rest:
                section = kind
                continue
            # "Next: demo Tuesday" is a label; "Next quarter they ..." is not (no separator).
            if label.group(0).rstrip()[-1:] in ":-\u2013\u2014=>" or raw.lstrip()[:1] in "-*+•·>":
                line_section = kind
                if label.group(0).rstrip()[-1:] in ":-\u2013\u2014=>":
                    line = rest
        elif _BULLET.match(raw) is None and section is not None and not raw.startswith((" ", "\t")):
            section = None if raw.strip().endswith(":") else section
        for sentence in split_sentences(line):
            own = _LABEL.match(sentence) if line_section is None else None
            own_kind: str | None = None
            if own is not None and own.group(0).rstrip()[-1:] in ":-\u2013\u2014=>" and sentence[own.end() :].strip():
                own_kind = next(k for k in _HEADING_RE if own.group(k))
            out.append(NoteSentence(len(out), sentence, line_section or own_kind))
    return out


class NoteAnalyser:
    """Classes the sentences of a note; `embed` is the shared model (texts -> unit vectors)."""

    def __init__(self, embed: Callable[[Sequence[str]], np.ndarray]) -> None:
        self._embed = embed
        self._prototypes: dict[str, np.ndarray] | None = None

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        return self._embed(texts) if texts else np.zeros((0, 384), dtype=np.float32)

    def _prototype_vectors(self) -> dict[str, np.ndarray]:
        if self._prototypes is None:
            texts = [t for kind in PROTOTYPES for t in PROTOTYPES[kind]]
            vectors = self._embed(texts)
            out: dict[str, np.ndarray] = {}
            start = 0
            for kind, examples in PROTOTYPES.items():
                out[kind] = vectors[start : start + len(examples)]
                start += len(examples)
            self._prototypes = out
        return self._prototypes

    def analyse(self, text: str, facts: NoteFacts) -> tuple[list[str], dict[str, Any]]:
        """The note's sentences and its analysis (NoteAnalysis's fields, citations without note id)."""
        sentences = split_note(text)
        prototypes = self._prototype_vectors()
        vectors = self._embed([s.text for s in sentences]) if sentences else np.zeros((0, 384), dtype=np.float32)
        result: dict[str, list[dict[str, Any]]] = {
            k: [] for k in ("pains", "objections", "competitors", "systems", "commitments", "next_steps")
        }
        next_dates: list[date] = []
        seen_names: set[tuple[str, str]] = set()
        for sentence, vector in zip(sentences, vectors, strict=True):
            sims = {kind: float(np.max(protos @ vector)) for kind, protos in prototypes.items()}
            kinds = classify(sentence, sims)
            # A step agreed for the meeting day itself ("send it today") is a deliverable, not the next meeting.
            found = [d for d in find_dates(sentence.text, facts.meeting_date) if d.date > facts.meeting_date]
            # A deadline ("send the deck by Friday") dates a commitment, never the next meeting.
            dates = [d.date for d in found if not d.deadline]
            due = min((d.date for d in found), default=None)
            undated = bool(_UNDATED.search(sentence.text))
            if dates and not undated and ("next_step" in kinds or _EVENT.search(sentence.text)):
                if "commitment" in kinds and not _EVENT.search(sentence.text):
                    pass  # a deliverable with a deadline: a commitment, not a meeting
                else:
                    kinds.add("next_step")
            cite = {"sentence": sentence.index, "text": sentence.text}
            first_date = min(dates) if dates and not undated else None
            for kind in ("pain", "goal"):
                if kind in kinds:
                    result["pains"].append({"kind": kind, "text": sentence.text, "citation": cite, "date": None})
            if "objection" in kinds:
                result["objections"].append(
                    {"kind": "objection", "text": sentence.text, "citation": cite, "date": None}
                )
            if "commitment" in kinds:
                result["commitments"].append(
                    {"kind": "commitment", "text": sentence.text, "citation": cite, "date": _iso(due)}
                )
            if "next_step" in kinds:
                dated = first_date if _EVENT.search(sentence.text) or sentence.section == "next_step" else None
                dated = dated or (first_date if "next_step" in kinds and "commitment" not in kinds else None)
                result["next_steps"].append(
                    {"kind": "next_step", "text": sentence.text, "citation": cite, "date": _iso(dated)}
                )
                if dated is not None:
                    next_dates.append(dated)
            for kind, name in names_in(sentence, facts):
                if (kind, name.lower()) in seen_names:
                    continue
                seen_names.add((kind, name.lower()))
                result[kind + "s"].append({"kind": kind, "text": name, "citation": cite, "date": None})
        analysis: dict[str, Any] = dict(result)
        analysis["next_step_date"] = _iso(min(next_dates)) if next_dates else None
        analysis["next_step_missing"] = not next_dates
        return [s.text for s in sentences], analysis


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def classify(sentence: NoteSentence, sims: dict[str, float]) -> set[str]:
    """The kinds of one sentence: its section's kind, cue phrases backed by a modest similarity, or a high
    similarity with a margin over every other kind (neutral included)."""
    kinds: set[str] = set()
    if sentence.section in KINDS:
        kinds.add(sentence.section)
    cues = {kind for kind, pattern in _CUES.items() if pattern.search(sentence.text)}
    for kind in cues:
        if sims[kind] >= CUE_FLOOR:
            kinds.add(kind)
    best = max(sims, key=lambda k: sims[k])
    others = max(v for k, v in sims.items() if k != best)
    if best != "neutral" and sims[best] >= BARE_FLOOR and sims[best] - others >= BARE_MARGIN:
        kinds.add(best)
    if _NO_OBJECTION.search(sentence.text) and sentence.section != "objection":
        kinds.discard("objection")
    if "next_step" in kinds and "objection" not in cues and sentence.section != "objection":
        kinds.discard("objection")
    if "objection" in kinds and "objection" in cues and sentence.section not in ("pain", "goal"):
        kinds.discard("pain")  # "worried the price is too high": an objection, not the customer's pain
    if "pain" in kinds and "goal" in kinds:
        kinds.discard("goal" if sims["pain"] >= sims["goal"] else "pain")
    if sentence.section in ("systems", "competitors"):
        kinds -= {"pain", "goal"}
    return kinds


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
    prior_system = False
    for start, end, phrase in _capitalised_phrases(text):
        if any(start < e and s < end for s, e in taken):
            continue
        kind = _name_kind(text, start, end, phrase, facts, sentence, prior_system)
        prior_system = kind == "system"
        if kind is not None:
            yield kind, phrase


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
    return word[:1].isupper() or bool(re.search(r"[a-z][A-Z]", word))


def _strong(word: str) -> bool:
    """A word that looks like a product name wherever it stands."""
    if re.search(r"[a-z][A-Z]", word) or (re.search(r"\d", word) and re.search(r"[A-Za-z]", word)):
        return word.upper() not in _NOT_SYSTEMS
    if word.isupper() and len(word) >= 2:
        return word.upper() not in _NOT_SYSTEMS and not word.isdigit()
    return word[:1].isupper() and word.lower() not in _vocabulary() and word not in _NOT_NAMES


def _name_kind(
    text: str, start: int, end: int, phrase: str, facts: NoteFacts, sentence: NoteSentence, prior_system: bool = False
) -> str | None:
    words = phrase.replace("&", " ").replace("-", " ").split()
    lowered = [w.lower() for w in words]
    named = [w for w in lowered if w.isalpha()]
    if any(w in facts.own_names for w in lowered) or (named and all(w in facts.people for w in named)):
        return None
    if all(w in _NOT_NAMES or w.upper() in _NOT_SYSTEMS for w in words if not w.isdigit()):
        return None
    before, after = text[:start], text[end:]
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
    if title_case and all(w.lower() not in _vocabulary() for w in words) and not contextual:
        return None  # "Priya Raman": two unknown capitalised words read as a person's name
    if len(words) >= 2 and not at_start and all(w.lower() in _vocabulary() or w.isupper() for w in words):
        contextual = True  # common words capitalised together mid-sentence name a product: "Google Ads", "Power BI"
    if _CHAIN.search(before) and prior_system:
        contextual = True  # "Gong and Outreach": a list that started with a system
    if _EVALUATING.search(before) and (strong or contextual or not at_start):
        return "competitor"
    if sentence.section == "competitors" and (strong or not at_start):
        return "competitor"
    if strong:
        return "system"
    if contextual and not at_start and len(phrase) > 2:
        return "system"
    if sentence.section == "systems" and len(phrase) > 2:
        return "system"
    return None
