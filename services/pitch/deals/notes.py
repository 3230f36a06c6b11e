"""Extractive analysis of meeting notes: rules and the embedding model, no generated text.

Every item is a sentence of the note (or a name in it) with the sentence's index. A note is split line by line
(bullets and headings kept apart), then into sentences. Structure is not content: a heading line (a known heading,
a short line ending with a colon, a short line in capitals) is no sentence and sets the kind of the lines under
it; a question ("Q: concerns?") sets the kind of its answer; inline labels ("Objection - ...", "WORRIES: ...") set
the kind of their line; a line of labels only ("Risks / objections") is a heading. Otherwise each sentence is
classed by cue phrases and by cosine to a few generic prototype sentences per kind (all-MiniLM-L6-v2): a cue needs
a modest similarity, no cue needs a high one and a margin over every other kind. Objection cues are frames of
concern, pushback and hurdle (a gate, a duration on their side, a doubt of fit, something already paid for,
something we lack); a formal hurdle (a tender, a questionnaire) is no objection in a sentence that agrees a step
towards it, and a complaint about a competitor ("looked at X, too pricey") is none. Names (competitors and
systems) come from the rules of `names.py`. A dated next step is a meeting with a date; a deadline for something
sent ("I'll send the deck by Friday") is a commitment; an undated cue ("day tbd") leaves only its own clause
undated.
"""

from __future__ import annotations

import itertools
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any

import numpy as np

from services.core.text import split_sentences
from services.pitch.deals.dates import FoundDate, find_dates
from services.pitch.deals.names import names_in, people_in

ANALYSER_VERSION = 10  # 2: structure, roles, lower-case products, deadlines; 3: gates and hurdles, products by use,
# alternatives by frame, more date forms; 4: more frames of an alternative, hurdles and doubts as objections;
# 5: "same time" beside the date only, a product that "flagged" or "raised" something is no person; 6: milestone dates
# and deadlines whose clause names no meeting are no next step, "same time next week", the vendor they had or have
# for the same job is a competitor; 7: objections, pains and goals by their nearest labelled sentences when the app
# passes the exemplars (README "Deals"); 8: what already went wrong (penalties, mistakes, audit findings) and work
# by hand named by its medium or its hours are pains, places and tax forms are no systems, more frames of an
# alternative ("in the running:", "eval'ing", "is the other finalist", "came up as an option"), exemplars from eight
# sets; 9: a list after a colon ("finalists they're looking at: X, Y"), "finalists are", "evaluated", "so that's what
# we're up against"; a bare name listed after a place is a place; plural abbreviations ("SSNs") and weekdays are no
# systems; key | value rows; pain cues for what had to be put right or was outgrown; objection cues for disbelief,
# a contract they are tied to, a go-live gate, a queue on their side, our price above a rival's, a mandatory RFP;
# 10: a system whose frame (the words around the name) reads as a competitor's by its nearest labelled frames is one;
# time zones, compass regions and states or countries by their abbreviation are no systems, a law after a place no place
KINDS = ("pain", "goal", "objection", "commitment", "next_step")

_HEADING_RE = {
    "pain": r"pains?|pain points?|challenges?|problems?|issues?|struggles?|current state",
    "goal": r"goals?|objectives?|priorities|desired outcomes?|success criteria|wants|needs",
    "objection": r"objections?|objs?|concerns?|risks?|push ?back|blockers?|hesitations?|red flags?",
    "commitment": r"commitments?|action items?|actions?|to ?dos?|owes?|we owe|they owe|AIs?|follow[- ]?ups?",
    "next_step": r"next steps?|NS|next",
    "systems": r"tech stack|stack|systems?|sys|tools?|current tools?|integrations?|what they use|in use|platforms?",
    "competitors": r"competition|competitors?|competitive|comp|alternatives?|also evaluating|also in play|in play|"
    r"in the mix|"
    r"incumbents?|others|other vendors|other options",
}
# Headings a heading line or a question may use beside the labels above (whole heading only).
_HEADING_EXTRA = {
    "objection": re.compile(r"\b(?:worr(?:y|ies|ied)|fears?|doubts?|pushback|push back|obstacles?|hurdles?)\b", re.I),
    "pain": re.compile(r"^why\b|\b(?:drivers?|triggers?|broken)\b", re.I),
    "goal": re.compile(r"\bgood\b.{0,12}\blooks? like|\bsuccess\b|\bdesired (?:state|outcomes?)\b", re.I),
}
# A line that is a heading: short and ending with a colon ("WHAT THEY USE:", "Where they are:"), or a short line in
# capitals ("PALLAS WORKWEAR", "OTHERS"); a question to the customer ("Q: concerns?") heads its answer ("A: ...").
_HEADING_LINE = re.compile(r"^(?P<head>[^.!?:;]{1,40}):$")
_CAPS_LABEL = re.compile(r"^(?P<head>[A-Z][A-Z0-9&/' ]{1,30}[A-Z]):\s+(?P<rest>\S.*)$")
_QUESTION = re.compile(r"^Q\s*[:.)]\s*(?P<q>.+)$")
_ANSWER = re.compile(r"^A\s*[:.)]\s*")

_LABEL = re.compile(
    r"^\s*(?P<label>"
    + "|".join(f"(?P<{k}>{v})" for k, v in _HEADING_RE.items())
    + r")\s*(?:[:\-\u2013\u2014=>|]+\s*|$)",
    re.I,
)
# The other columns' titles of a key | value table's header row ("Risks | Mitigation").
_COLUMN_TITLES = frozenset(
    """mitigation mitigations owner owners date dates status notes note response responses details value values action
    actions due answer answers who when what""".split()  # noqa: SIM905
)
_BULLET = re.compile(r"^\s*(?:[-*+•·>]+|\d{1,2}[.)]|\(?[a-z]\))\s+")

_CUES: dict[str, re.Pattern[str]] = {
    "pain": re.compile(
        r"\b(struggl\w*|pain\w*|frustrat\w*|manual(ly)?|spreadsheets?|by hand|too (long|slow|many|much)|"
        r"takes? (them |us )?(days|weeks|hours|forever|ages)|hours (a|per|each|every) (week|month|day)|"
        r"can'?t|cannot|unable|no ([\w-]+ )?(visibility|view|insight)|no (way|single|idea)|don'?t (know|trust)|hard to|"
        r"difficult|"
        r"broken|problem\w*|challeng\w*|bottleneck\w*|error[- ]prone|stitch\w*|silo\w*|churn\w*|losing|lost|"
        r"wast\w*|blind|complain\w*|headache\w*|fire ?drill\w*|mess\w*|nightmare|inconsistent|disconnected|"
        r"duplicat\w*|out of date|stale|doesn'?t scale|not scal\w*|miss(es|ed|ing) (targets?|forecasts?|numbers?)|"
        r"no (link|join|early warning|consolidated|source|single|idea)|nobody(?! else)|no one(?! else)|never|unhappy|"
        r"guess\w*|"
        r"black box|(don'?t|doesn'?t|do not|does not) (trust|know|see)|flat|dropped(?! (it|them|him|her|us|the|out|in|"
        r"by to))|declin\w*|(down|up) \d|"
        r"eating|spans? \d+|\d+ different|(three|four|five|several) different|los(e|es|ing)|"
        r"leav(e|es|ing) (for|after|before|within|without|us|them|money)|"
        r"switch(es)? (supplier|vendor|provider)|by email|typed|rebuild\w*|assembl\w* manually|"
        # what is missing or blind, what goes wrong, what numbers do, work done by hand under another name
        r"no (clue|real|list|record|tracking|attribution|history)|nothing (ties|links|connects|joins)|"
        r"none of (them|these|those|it)|(don'?t|doesn'?t|do not|does not) talk to|buried|can only|"
        r"only (notice|learn|find out|see|hear|get|works?|attribute|earn)\w*|drop(s|ped|ping)? off|drop-off|"
        r"abandon\w*|slipp\w*|fell|falling|spike\w*|gone by|fighting|suspects?|overspend\w*|its own|"
        r"spends? (\w+ ){0,3}(nights?|weekends?|evenings?|days?|hours?|mornings?|afternoons?|"
        r"(mon|tues|wednes|thurs|fri|satur|sun)days)|exporting|reformat\w*|"
        r"copy(ing)?[- ]and[- ]past\w*|wrong|all the credit|(gets? no|without) credit|eats?|"
        r"(no|zero|little) (real )?(idea|visibility|insight|clue|way|sense)|(by|from) memory|gut feel\w*|"
        r"untouched|go(es)? cold|"
        r"fall(s|ing)? through the cracks|differently|argu\w*|(no|not) (standard|consistent)|"
        r"break(s|ing)? (every|each|whenever|when|all the time|constantly)|stopped (trusting|believing|using)|"
        r"off by (~|about |around )?\d+|not getting (\w+ ){0,2}out of|"
        # what already went wrong (penalties, mistakes, audit findings, people quitting or upset), and work done by
        # hand named by its medium or its cost in someone's time
        r"penalt\w*|fined|(?<!zero )(?<!no )(mistakes?|errors)|late (approvals?|payments?|filings?|fees?)|"
        r"missed (filings?|deadlines?|payments?)|audit\w* (flagged|found)|(a|an|audit) finding|"
        r"quit (over|because|after)|(has|have|had|just) quit|angry|upset|scared|re-?key\w*|hand-?key\w*|chasing|"
        r"on paper|whiteboard|group (text|chat)|(fees?|prices?|costs?|premiums?|rates?|bills?) (went|have gone|"
        r"has gone) up|overpa(y|id|ying)|underpa(y|id|ying|yment)|hold(s|ing)? up (the|their|our|every)|"
        r"(takes?|took) (her|him|them|me|\d+ (ppl|people)) |\d+([-\u2013]\d+)? (hrs?|hours) (every|each|a|per)\b|"
        # what they had to put right, what a reviewer sent back, what was outgrown or goes unnoticed
        r"(?<!\bwe )(?<!\bi )had to (file|fix|redo|correct|reverse|refund|re-?run|re-?issue|cut manual)|"
        r"(filed?|filing) a correction|failed (an?|the|their|its) (\w+ )?(audit|inspection|review|survey|check)|"
        r"kicked back|got written up|(was|were) written up (for|during|after|in)|"
        r"held up an?|(a|an|one) (\w+ )?error (on|in|with)\b|clunky|"
        r"(was|were) built for (\d+|a (much )?smaller|smaller|fewer)|outgr(ew|own|owing)|"
        r"without (anyone|anybody) (noticing|knowing)|"
        r"corrected by hand|all paper)\b",
        re.I,
    ),
    "goal": re.compile(
        r"\b(wants? (?!us\b|me\b|you\b|them\b|to see (a|an|the|our|it|how (we|it|you))\b|(a|an|the|our|some) "
        r"(proposal|quote|demo|reference|ref|case study|pricing|price|deck|trial|pilot|poc|dpa|baa|nda|msa|contract|"
        r"one-pager|breakdown|copy|sandbox|call|meeting|intro)\b|(dpa|baa|nda|msa|pricing)\b)\S+|"
        r"(would|'d) (like|love)|goal\w*|aim\w*|looking to|"
        r"(has|have|need) to (grow|cut|reduce|increase|hit|reach|double|halve|fix|get)|(#1|main|big|key|one) ask|"
        r"ask (is|was)|"
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
        r"wary|nervous|(isn'?t|wasn'?t|aren'?t|is not|was not|are not|not too|not that) (keen|sold|convinced|"
        r"comfortable)|(will|would|'d|'ll) say no|(can'?t|cannot|won'?t|unable to) meet|too (complex|complicated|much "
        r"change)|(another|one more) (tool|vendor|platform)|"
        # conditions and demands the customer sets, hurdles, a rival's lower price, timing, a bad past experience
        r"non[- ]?starter|show[- ]?stopper|(could|would|will) kill|uncomfortable|scared|"
        r"(got|been|was|were) (burn(ed|t)|bitten)|"
        r"not going through (that|this|it) again|cheaper|quoted (us )?(less|lower)|came in (lower|under)|undercut\w*|"
        r"(not|n'?t|no) spend\w*|not (this|until|before) (year|yr|quarter|month|q[1-4]|after)|until after|"
        r"(would|'d) rather|prefer(s|red)? to wait|hold(ing)? off|wait (until|till|for)|"
        r"can'?t (babysit|afford|stretch|go (above|over|beyond))|another (integration|login|migration|system|sync|"
        r"app|rollout|copy)|big number|steep|out of (our|their|his|her) (budget|range|league)|confus\w*|"
        r"(if|when) it'?s more than|only (sign|buy|accept|contract)\w*|(their|own) paper|not ours|"
        r"(isn'?t|is not) sure|why (they|we|he|she)'?d|build (this|it) (themselves|himself|herself|in[- ]house)|"
        r"(doesn'?t|don'?t|does not|do not) want (a|an|another|to (commit|sign|buy|pay|move|switch|add|explain|"
        r"integrate|rip|replace|change|run|maintain|learn|manage|build))|show (me|us)|payback|pays? for itself|"
        r"runs? (about |around |roughly |~)?\d+ (weeks|months)|\d+\+ (weeks|months)|pushed hard|grill\w*|"
        r"winc\w*|balk\w*|baulk\w*|(half|a fraction of) the (price|money|cost)|(lower|better) (price|offer|quote)|"
        r"never (went live|worked|delivered|launched|got \w+ working)|"
        r"go(es)? through (a |an |their )?(formal )?(rfp|tender|procurement|security review|vendor assessment)|"
        r"formal (rfp|tender)|too \w+ for (them|us|him|her|their|our|a|any)|"
        r"(we|which we|that we) (can'?t|cannot|don'?t|do not) (do|support|offer|meet|host|provide)|"
        # the usual families of B2B objections: frozen budgets, supplier onboarding, fit of the pricing model,
        # contract terms, data residency, conditions before signing
        r"fr(o|ee)z\w*|(approved|preferred) (supplier|vendor) list|(supplier|vendor) onboarding|"
        r"procurement (process|review)|(doesn'?t|does not|won'?t|will not) work for (them|us|him|her)|multi-?year|"
        r"(months|years|seats|users) max|at most|month-to-month|(can'?t|cannot|must not|mustn'?t|may not) leave|"
        r"free (pilot|trial) (first|before)|"
        # how long things take on their side, gates, fit, what is already paid for, what we lack, where data must stay
        r"(takes?|took|taking|needs?|needed|requires?|required|lasts?|lasted|runs?|ran) (about |around |roughly |~|"
        r"up to |at least |usually |typically |alone )?(\d+|a|one|two|three|four|five|six|nine|twelve|several|a few|"
        r"many)([-\u2013]\w+)? ?(weeks|months|quarters?|wks|mos|years|yrs)|"
        r"(won'?t|will not|can'?t|cannot|wouldn'?t|would not|not going to) (approve|sign|buy|proceed|move forward|"
        r"go ahead|consider|look at|add|run|pay for|maintain|support)\b(?! (it|this) (now|today))(.{0,40}"
        r"\b(without|unless|until)\b| (two|2|another|a second|a third))|(not|non)[- ]?negotiable|"
        r"no new (\w+ ){0,2}(spend|budget|tools?|vendors?|software|purchases|headcount|contracts?)|"
        r"overkill|over-?built|over-?engineered|built for (much |far |a lot )?(bigger|larger)|"
        r"already paid|paid (up )?(through|until|till|to) |(just|recently) signed|"
        r"we (don'?t|do not) (have|offer|support|do) (it|that|this|one|them)\b|(which|that) we (don'?t|do not)\b|"
        r"(should|could|would|might as well) just (hire|build|use|do|keep|stick|buy)|"
        r"(we|they|she|he|i)('ve| have)? tried (\w+ ){1,3}(before|already|previously)|"
        r"how long (\w+ ){0,2}(takes?|would take|will take|to (implement|set up|onboard|get live|roll out))|"
        # the need questioned: why not keep what they have, it may be enough, they could build it, too many tools
        r"why not (just )?(use|keep|extend|stick|stay|build|hire|do)|(ask|asks|asked|asking|wonder\w*) why|"
        r"(might|may|could|would) be (good )?enough|good enough for|(could|can) (just )?build (it|this|that|the same|"
        r"something)|rather than (a|an) (new|another|separate|third)|instead of (a|an) (new|another|separate)|"
        r"too many (tools|vendors|platforms|subscriptions|dashboards|logins)|another (subscription|dashboard|"
        r"license|licence)|wonder\w* (aloud )?(whether|if)|question\w* (whether|if|why|the need)|"
        # approval gates and sign-offs on their side, and how long they take
        r"(has|have|needs?|need) to (sign off|approve)|sign(ed)?[- ]off (by|from) (the |their |a )?\w+ first|"
        r"(goes|go|going|has to go|needs to go) (to|before|through) (the |their |an? )?([\w-]+ )?(board|committee|"
        r"steering|council|cab\b)|(before|until) anything (gets|is|can be) (approved|signed|bought)|"
        r"(until|unless|without) (the |their |a |an |his |her )?([\w-]+ ){0,3}(signs?|signed) off|"
        r"nothing (moves|happens|gets (signed|approved|bought))|(will|would) only (approve|sign|buy|go ahead)|"
        r"no new [\w-]+ without|"
        r"(can|could|will|would|may|might) take (months|weeks|quarters|a while|ages|forever|its time|their time)|"
        r"take (its|their) (sweet )?time|slow[- ]?roll\w*|drags? on|"
        r"(taken|go|goes|went) (about |around |roughly |~|up to |at least |usually |typically )?\d+([-\u2013]\d+)? ?"
        r"(weeks|months|wks|mos)|(runs?|takes?|took|taken|needs?|lasts?) (about |around |~|up to |at least |"
        r"usually |typically )?([3-9]\d|\d{3}) days|"
        # a line they will not cross, capacity they lack, data they will not share, a price above a rival's
        r"hard line|red line|(was|is|were|are|very) firm (that|on|about)|won'?t budge|"
        r"(consum\w*|swamp\w*|ties? up|tying up|occup\w*) (his|her|their|the|our) ([\w-]+ ){0,2}team|"
        r"(no|zero|limited|little) (bandwidth|"
        r"capacity)|stretched thin|"
        r"(won'?t|will not|can'?t|cannot|not allowed to|may not|must not) (share|send|hand over|upload|expose)|"
        r"(way|far|much|well) (above|over|more than) (that|theirs|their|what)|(didn'?t|did not) (love|like) (that|it|"
        r"this)\b|"
        # disbelief, a contract they are tied to, a gate before go-live, a queue on their side, our price above theirs
        r"\b(i|she|he|they)( really)? (don'?t|do not|doesn'?t|does not) believe|(early[- ]termination|exit) fees?|"
        r"mid-?contract|under contract (until|till|through)|(goes|go|going) live without|"
        r"backed up (until|till|through)|"
        r"you('re| are) (much |way |a lot |far )?(pricier|dearer|more expensive|more(?=\s*($|[,.;!?)])))|"
        r"(rfp|tender) (is |was )?(mandatory|required)|mandatory (rfp|tender))\b",
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
    r"onsite|on-site|deep[- ]?dive|walkthrough|walk-through|decision|signing|sign|pilot|poc|trial|wkshp|"
    r"screen[- ]?share|zoom|"
    r"present(?:ing)? (?:to|the|our|it|them)|catch[- ]?up|"
    # "Back on Tues 8th" opening a line, "we're back on the 9th": we meet again; not "numbers back on Friday",
    # "get back on Friday" or "pushed back on the discount"
    r"(?:(?<=^)|(?<=^[-*\u2022>] )|(?<=\bwe're )|(?<=\bwe are ))back on(?= (?:mon|tue|wed|thu|fri|sat|sun|the \d|\d))|"
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
    r"none (set|booked|agreed|formally|yet)|will confirm (the )?(day|date|time)|"
    # two days offered, none chosen: "next wed or thurs, she'll confirm which"
    r"(will|'ll|to|must|needs to) (confirm|decide|pick|choose) which|(mon|tue|wed|thu|fri|sat|sun)\w* ?(or|/) ?(next )?"
    r"(mon|tue|wed|thu|fri|sat|sun)\w*)\b",
    re.I,
)

# A formal hurdle on the customer's side: an objection where it is raised, not where a step towards it is agreed
# ("Erik to draft requirements for the tender").
_HURDLE = re.compile(
    r"\b((full|formal|public|open|competitive) tender|tender (process|requirements|rules)|(go|goes|going|put|went|"
    r"run) (out )?to tender|run a tender|framework agreement|security questionnaire|\d+[- ]question|\d+ bids|"
    r"three bids|(vendor|supplier|security|legal|procurement) (assessment|review|intake|onboarding)|"
    r"outsourcing assessment)\b",
    re.I,
)
# What a customer says of a product they looked at: its price or its weight.
_COMPLAINT = re.compile(
    r"\b((way |far |much |a bit |too )+(pricey|expensive|costly|much|complex|complicated|clunky|heavy|hard|slow|"
    r"big)|(pricey|overpriced|clunky|bloated)|(didn'?t|did not) (like|love)|(too|very|really) (pricey|expensive|"
    r"complex|complicated))\b",
    re.I,
)
_TURN = re.compile(r"\b(?:but|however|though|although)\b", re.I)
_CLAUSE_BREAK = re.compile(r";|\bthen\b", re.I)
_FINE_CLAUSE_BREAK = re.compile(r";|,|\b(?:then|and|but|while)\b", re.I)

# Something one side sends the other: its deadline is no meeting.
_DELIVERABLE = re.compile(
    r"\b(send|sending|sent|share|sharing|e-?mail\w*|forward\w*|owe[sd]?|deliver\w*|submit\w*|provide|draft\w*|"
    r"prepare|write|writ\w+ up|put together|pull together|return|asked for|ask for|request\w*)\b",
    re.I,
)
_NO_OBJECTION = re.compile(
    r"\b(no (objections?|concerns?|pushback)|(did not|didn'?t) (raise|have) (any )?(concerns?|objections?)|"
    r"(did not|didn'?t) have concerns|not an issue|is not an issue|not a (blocker|problem|concern|deal[- ]?breaker)|"
    r"no (blockers?|red flags?))\b",
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
        # Conditions and demands the customer sets, which carry no word of worry.
        "They will only go ahead if we can prove the return within a year.",
        "Their procurement team only signs contracts on its own terms.",
        "Another vendor offered them a lower price.",
        "They won't buy anything until their busy season is over.",
        "A similar vendor let them down before and they will not risk it again.",
        # The textbook families without a word of worry: authority, need and fit, capacity, a past failure.
        "The decision is not theirs; the board has to approve any new vendor.",
        "They are not sure they need something this advanced for a team their size.",
        "Their team has no bandwidth to take on another project this year.",
        "They tried a similar tool before and nobody used it.",
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
    """Lines first, then sentences within each line. Structure is not content: a heading line (a known heading,
    a short line ending with a colon, a short line in capitals) is no sentence and gives its kind to the lines
    under it until a blank line or another heading; a question ("Q: concerns?") gives its kind to its answer; an
    inline label ("Pains: ...", "WORRIES: ...") to its line, and a label in capitals is left out of the text."""
    out: list[NoteSentence] = []
    section: str | None = None
    answer_kind: str | None = None  # the kind a question asked, for the answer line after it
    seen = False  # a line before this one, kept or not
    listed = False  # the last line was an item ("- ...") of the current section's list
    for raw in text.splitlines():
        if not raw.strip():
            section = answer_kind = None
            continue
        first, seen = not seen, True
        line = _BULLET.sub("", _strip_symbols(raw)).strip()
        question = _QUESTION.match(line)
        if question is not None:
            answer_kind = heading_kind(question.group("q").strip().rstrip("?").strip())
            continue
        if _ANSWER.match(line):
            line = _ANSWER.sub("", line, count=1)
            line_section, answer_kind = answer_kind, None
            out.extend(_sentences(line, line_section, len(out)))
            continue
        answer_kind = None
        if _is_heading(line, first):
            section, listed = heading_kind(line.rstrip(":").strip()), False
            continue
        item = _BULLET.match(raw) is not None
        if listed and not item and not raw.startswith((" ", "\t")):
            section = None  # the heading's list of items ended: this line is no item of it
        label = _LABEL.match(line)
        line_section = section
        caps = _CAPS_LABEL.match(line)
        if label is not None:
            kind = next(k for k in _HEADING_RE if label.group(k))
            rest = line[label.end() :].strip()
            if not rest:
                section = kind
                continue
            # "Next: demo Tuesday" is a label; "Next quarter they ..." is not (no separator).
            # "obj | price too high": a row of a key | value table ("Risks | Mitigation" heads one: no item)
            header = "|" in rest or rest.lower() in _COLUMN_TITLES
            if label.group(0).rstrip()[-1:] == "|" and header:
                continue
            if label.group(0).rstrip()[-1:] in ":-\u2013\u2014=>|" or raw.lstrip()[:1] in "-*+•·>":
                line_section = kind
                if label.group(0).rstrip()[-1:] in ":-\u2013\u2014=>|":
                    line = rest
        elif caps is not None and heading_kind(caps.group("head")) is not None:
            line_section, line = heading_kind(caps.group("head")), caps.group("rest")
        elif _BULLET.match(raw) is None and section is not None and not raw.startswith((" ", "\t")):
            section = None
        listed = section is not None and item
        out.extend(_sentences(line, line_section, len(out)))
    return out


def _strip_symbols(line: str) -> str:
    """A line without the pictographs that lead it as bullets or markers ("🎯 Goals", "▸ next", "✅ done"): symbols
    (Unicode category So) and the joiners and variation selectors of emoji; currency and maths signs stay."""
    stripped = line.lstrip()
    i = 0
    while i < len(stripped) and (
        unicodedata.category(stripped[i]) == "So" or stripped[i] in "\u200d\ufe0f\ufe0e" or stripped[i].isspace()
    ):
        i += 1
    return stripped[i:] if i else line


def _sentences(line: str, line_section: str | None, first: int) -> list[NoteSentence]:
    out: list[NoteSentence] = []
    for sentence in (part for piece in split_sentences(line) for part in _lower_case_sentences(piece)):
        own = _LABEL.match(sentence) if line_section is None else None
        own_kind: str | None = None
        if own is not None and own.group(0).rstrip()[-1:] in ":-\u2013\u2014=>" and sentence[own.end() :].strip():
            own_kind = next(k for k in _HEADING_RE if own.group(k))
        out.append(NoteSentence(first + len(out), sentence, line_section or own_kind))
    return out


# A sentence written in lower case after a full stop ("tiny team, 9 ppl. he wants ..."), as in a pasted chat
# message: not after a one-letter word or a common abbreviation ("v. chatty", "approx. 40", "e.g. slack").
_LOWER_END = re.compile(r"(?<=[a-z0-9)'\"][.!?])\s+(?=[a-z])")
_NO_END = re.compile(
    r"(?:^|[\s(])(?:[a-z]|e\.g|i\.e|etc|vs|approx|incl|excl|esp|min|max|est|ca|cf|no|nr|pt|pp)[.!?]$", re.I
)


def _lower_case_sentences(text: str) -> list[str]:
    out: list[str] = []
    start = 0
    for m in _LOWER_END.finditer(text):
        if _NO_END.search(text[start : m.start()]):
            continue
        out.append(text[start : m.start()])
        start = m.end()
    out.append(text[start:])
    return [part for part in out if part.strip()]


def _is_heading(line: str, first: bool) -> bool:
    """A short line ending with a colon, or a short line in capitals (letters of at least two words or one of
    four or more; not "NS" or "SAP") that is the note's title ("PALLAS WORKWEAR") or names a kind ("OTHERS");
    "NO BUDGET TILL Q3" in capitals is content."""
    if _HEADING_LINE.match(line) and len(line.split()) <= 5:
        return True
    parts = [p for p in re.split(r"\s*(?:[/&+,]|\band\b)\s*", line) if p]
    if len(parts) >= 2 and len(line.split()) <= 5 and all(_LABEL.fullmatch(p) for p in parts):
        return True  # "Risks / objections", "Pains & goals": labels only
    letters = re.sub(r"[^A-Za-z ]", "", line).strip()
    return (
        bool(letters)
        and letters.isupper()
        and len(line.split()) <= 5
        and (len(letters.split()) >= 2 or len(letters) >= 4)
        and not re.search(r"[a-z]", line)
        and (first or heading_kind(line) is not None)
    )


def heading_kind(heading: str) -> str | None:
    """The kind a heading or a question names ("Pains", "WORRIES", "any concerns", "what's broken today"), else
    None. Headings are short, so a heading word anywhere in one names its kind."""
    heading = heading.strip()
    for kind, pattern in _HEADING_RE.items():
        if re.search(rf"\b(?:{pattern})\b", heading, re.I):
            return kind
    for kind, extra in _HEADING_EXTRA.items():
        if extra.search(heading):
            return kind
    return None


# What the objection classifier reads of a sentence beside its embedding: generic marks of pushback.
_NEGATION = re.compile(
    r"\b(?:not|no|never|nothing|none|without|won'?t|can'?t|cannot|don'?t|doesn'?t|isn'?t)\b|n't\b", re.I
)
_HEDGE = re.compile(
    r"\b(?:maybe|might|may|perhaps|probably|not sure|unsure|unclear|could|would|if|unless|until|"
    r"whether)\b",
    re.I,
)
FEATURE_SECTIONS = ("pain", "goal", "objection", "commitment", "next_step", "systems", "competitors")
# Where each kind's prototype cosine sits in a row of `objection_features`.
_SIM_AT = {kind: 384 + 3 + len(FEATURE_SECTIONS) + i for i, kind in enumerate(PROTOTYPES)}


def objection_features(
    vector: np.ndarray, sims: dict[str, float], sentence: NoteSentence, rule_kinds: set[str]
) -> np.ndarray:
    """One sentence as the objection classifier reads it: its embedding (384), whether the rules made it a pain
    or goal, a commitment, a next step (3), the kind its heading or label gave it (7), its best cosine to each
    kind's prototypes (6, in PROTOTYPES order) and four generic marks (negation, question, hedge, a turn)."""
    text = sentence.text
    rules = [
        float(bool(rule_kinds & {"pain", "goal"})),
        float("commitment" in rule_kinds),
        float("next_step" in rule_kinds),
    ]
    sections = [float(sentence.section == k) for k in FEATURE_SECTIONS]
    marks = [
        float(bool(_NEGATION.search(text))),
        float("?" in text),
        float(bool(_HEDGE.search(text))),
        float(bool(_TURN.search(text))),
    ]
    extra = np.array(rules + sections + [sims[k] for k in PROTOTYPES] + marks, dtype=np.float32)
    return np.concatenate([np.asarray(vector, dtype=np.float32), extra])


# The labelled sentences of our own meeting-note sets (evals/notes: notes.jsonl and heldout.jsonl to heldout7.jsonl,
# never heldout8.jsonl, the blind one), each with whether it states an objection and whether a pain or goal, as the
# model embeds them. Built by `python evals/build_note_exemplars.py`.
EXEMPLARS = Path(__file__).with_name("note_exemplars.npz")
EXEMPLAR_KINDS = ("objection", "pain")
# A sentence is of a kind when at least EXEMPLAR_SHARE of its EXEMPLAR_NEIGHBOURS nearest labelled sentences are:
# chosen by the mean F1 of objections over the first six sets, each measured with its own sentences left out (README
# "Deals"; K 5-25 and shares 0.4-0.8 tried), and used as they are for pains and goals.
EXEMPLAR_NEIGHBOURS = 10
EXEMPLAR_SHARE = 0.7
# The same sets' labelled names (competitors and systems), each as the words around its first mention with the name
# itself replaced by "X" ("He saw a X demo in September"; "invoices are keyed into X by hand"): a product the rules
# read as a system is a competitor when at least FRAME_SHARE of its frame's EXEMPLAR_NEIGHBOURS nearest labelled
# frames are competitors'. The frame, not the name, decides, so it carries to names no set has seen. FRAME_SHARE was
# chosen by the competitors' F1 of the eight sets, each run with its own frames left out (before the in-use guard
# below: mean 0.909 at 0.8, 0.875 at 0.7; as shipped 0.900; README "Deals").
NAME_EXEMPLARS = Path(__file__).with_name("name_exemplars.npz")
FRAME_SHARE = 0.8
# Said as the place their work or data is ("they currently use X", "data sits in X", "keys invoices into X"): a
# system whatever its frame's neighbours say, since our sets label an incumbent in the same frames as a competitor
# when it does our product's job, which the words around it cannot tell.
_IN_USE_BEFORE = re.compile(
    r"\b(?:use|uses|used|using|run|runs|running|into|through|thru|(?:built|hosted|live|lives|sit|sits|stored|kept|is|"
    r"are|were|was|runs?|running|done|tracked|managed) (?:in|on))\s+$",
    re.I,
)


def find_mention(text: str, name: str) -> re.Match[str] | None:
    """Where `text` names `name` as a word of its own (not inside "ramp-up"): the mention written as `name` is when
    it has capitals, else one that opens with a capital ("Zip" before "the zip feature"; labels are often lower
    case), else the first."""
    found = list(re.finditer(r"(?<![\w-])" + re.escape(name) + r"(?![\w-])", text, re.I))
    exact = [m for m in found if m.group(0) == name] if name != name.lower() else []
    capital = [m for m in found if m.group(0)[:1].isupper()]
    best = exact or capital or found
    return best[0] if best else None


FRAME_WORDS = 10  # words kept on each side of the name


def name_frame(text: str, start: int, end: int) -> str:
    """The words around a name in its sentence, the name replaced by "X": what a frame exemplar holds."""
    return " ".join([*text[:start].split()[-FRAME_WORDS:], "X", *text[end:].split()[:FRAME_WORDS]])


@dataclass(frozen=True)
class Exemplars:
    """Kinds by the nearest labelled sentences: per kind, the share of a sentence's `neighbours` nearest exemplars
    (cosine of the model's vectors) that are of it. The rules' objections, and pains and goals, gain the sentences
    whose share reaches `threshold`."""

    vectors: np.ndarray  # (n, 384) unit vectors
    labels: dict[str, np.ndarray]  # kind -> (n,) bool: the exemplar is of the kind
    threshold: float = EXEMPLAR_SHARE
    neighbours: int = EXEMPLAR_NEIGHBOURS
    frames: Exemplars | None = None  # names' frames, labelled "competitor" (NAME_EXEMPLARS); None: rules alone

    def shares(self, vectors: np.ndarray) -> dict[str, np.ndarray]:
        """Per kind, each of `vectors`' share of nearest exemplars of that kind (one search for every kind)."""
        if vectors.shape[0] == 0 or len(self.vectors) == 0:
            return {kind: np.zeros(vectors.shape[0]) for kind in self.labels}
        sims = vectors @ self.vectors.T
        k = min(self.neighbours, sims.shape[1])
        nearest = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        return {kind: labels[nearest].mean(axis=1) for kind, labels in self.labels.items()}


def load_exemplars(
    path: Path = EXEMPLARS, exclude: Sequence[str] = (), frames: Path | None = NAME_EXEMPLARS
) -> Exemplars:
    """The exemplars of `path` (about 3.4 MB of vectors) and the name frames of `frames` (None: none), without
    those of the sets named in `exclude`."""
    left_out = [name.strip() for name in exclude if name.strip()]
    named = None
    if frames is not None:
        with np.load(frames) as data:
            keep = ~np.isin(data["sets"], left_out)
            named = Exemplars(
                data["vectors"][keep].astype(np.float32), {"competitor": data["competitor"][keep]}, FRAME_SHARE
            )
    with np.load(path) as data:
        keep = ~np.isin(data["sets"], left_out)
        labels = {kind: data[kind][keep].astype(bool) for kind in EXEMPLAR_KINDS}
        return Exemplars(data["vectors"][keep].astype(np.float32), labels, frames=named)


class NoteAnalyser:
    """Classes the sentences of a note; `embed` is the shared model (texts -> unit vectors). `exemplars`: labelled
    sentences that add objections, and pains or goals, to the rules' (None, the default: rules only; the app passes
    `load_exemplars()`)."""

    def __init__(self, embed: Callable[[Sequence[str]], np.ndarray], exemplars: Exemplars | None = None) -> None:
        self._embed = embed
        self._prototypes: dict[str, np.ndarray] | None = None
        self._exemplars = exemplars

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
        texts, analysis, features = self.analyse_with_features(text, facts, features=self._exemplars is not None)
        if self._exemplars is None:
            return texts, analysis
        shares = self._exemplars.shares(features[:, :384])
        found = {kind: share >= self._exemplars.threshold for kind, share in shares.items()}
        for index in _uncited(found["objection"], analysis["objections"]):
            cite = {"sentence": index, "text": texts[index]}
            analysis["objections"].append({"kind": "objection", "text": texts[index], "citation": cite, "date": None})
        analysis["objections"].sort(key=lambda item: item["citation"]["sentence"])
        # Not where the note raises an objection: a concern is no pain of theirs (as the rules read it).
        for index in _uncited(found["pain"], analysis["pains"] + analysis["objections"]):
            row = features[index]
            kind = "goal" if row[_SIM_AT["goal"]] > row[_SIM_AT["pain"]] else "pain"
            cite = {"sentence": index, "text": texts[index]}
            analysis["pains"].append({"kind": kind, "text": texts[index], "citation": cite, "date": None})
        analysis["pains"].sort(key=lambda item: item["citation"]["sentence"])
        if self._exemplars.frames is not None:
            self._rivals_by_frame(text, texts, analysis, self._exemplars.frames)
        return texts, analysis

    def _rivals_by_frame(self, text: str, texts: list[str], analysis: dict[str, Any], frames: Exemplars) -> None:
        """Moves to the competitors each system whose frame (the words around it in the sentence the analysis cites
        for it, the first that names it) reads as a competitor's by its nearest labelled frames; a complaint about
        a name so moved is no objection, as for the rules' competitors."""
        said: list[tuple[dict[str, Any], str]] = []
        for item in analysis["systems"]:
            sentence = texts[item["citation"]["sentence"]]
            found = find_mention(sentence, item["text"])
            if found and not _IN_USE_BEFORE.search(sentence[: found.start()]):
                said.append((item, name_frame(sentence, found.start(), found.end())))
        if not said:
            return
        shares = frames.shares(self.embed([frame for _, frame in said]))["competitor"]
        rivals = [item for (item, _), share in zip(said, shares, strict=True) if share >= frames.threshold]
        if not rivals:
            return
        moved = {id(item) for item in rivals}
        analysis["systems"] = [item for item in analysis["systems"] if id(item) not in moved]
        known = {item["text"].lower() for item in analysis["competitors"]}
        analysis["competitors"] += [
            {**item, "kind": "competitor", "citation": dict(item["citation"])}
            for item in rivals
            if item["text"].lower() not in known
        ]
        analysis["competitors"].sort(key=lambda item: item["citation"]["sentence"])
        named = {item["citation"]["sentence"]: item["text"] for item in rivals}
        if not any(item["citation"]["sentence"] in named for item in analysis["objections"]):
            return
        sections = {s.index: s.section for s in split_note(text)}  # only when a moved rival's sentence objects
        analysis["objections"] = [
            item
            for item in analysis["objections"]
            if not (
                (index := item["citation"]["sentence"]) in named
                and sections.get(index) != "objection"
                and _rival_complaint(texts[index], [("competitor", named[index])])
            )
        ]

    def analyse_with_features(
        self, text: str, facts: NoteFacts, *, features: bool = True
    ) -> tuple[list[str], dict[str, Any], np.ndarray]:
        """The rules' analysis (no exemplars) and each sentence's `objection_features`, one row per sentence
        (`features` False: none are built, as when the analyser runs without exemplars)."""
        sentences = split_note(text)
        # A name the note shows to be a person anywhere ("Priyanka booked the demo") is no product elsewhere in it.
        facts = replace(facts, people=facts.people | people_in(text))
        prototypes = self._prototype_vectors()
        vectors = self._embed([s.text for s in sentences]) if sentences else np.zeros((0, 384), dtype=np.float32)
        result: dict[str, list[dict[str, Any]]] = {
            k: [] for k in ("pains", "objections", "competitors", "systems", "commitments", "next_steps")
        }
        next_dates: list[date] = []
        seen_names: set[tuple[str, str]] = set()
        rows: list[np.ndarray] = []
        for sentence, vector in zip(sentences, vectors, strict=True):
            sims = {kind: float(np.max(protos @ vector)) for kind, protos in prototypes.items()}
            kinds = classify(sentence, sims)
            names = list(names_in(sentence, facts))
            if "objection" in kinds and sentence.section != "objection" and _rival_complaint(sentence.text, names):
                kinds.discard("objection")
            # A step agreed for the meeting day itself ("send it today") is a deliverable, not the next meeting.
            found = [d for d in find_dates(sentence.text, facts.meeting_date) if d.date > facts.meeting_date]
            # A deadline for something sent ("send the deck by Friday") dates a commitment, never the next meeting;
            # "demo by Friday" still dates the demo.
            deliverable = bool(_DELIVERABLE.search(sentence.text))
            # A milestone ("go-live 1 April") is never the meeting; a deadline dates one only when its own clause
            # names the meeting ("responses due on the 18th; no meeting before then" names none).
            dates = [
                d.date
                for d in found
                if not d.milestone
                and not (
                    d.deadline and (deliverable or not _EVENT.search(_clause_at(sentence.text, d.start, fine=True)))
                )
                and not _UNDATED.search(_clause_at(sentence.text, d.start))
            ]
            due = min((d.date for d in found), default=None)
            undated = not dates
            # A date with a clock time ("Thurs the 3rd @ 4", "tomorrow at 11", "same time next Thursday") is an
            # appointment even when the note names no meeting.
            timed = not deliverable and any(
                not d.deadline and _timed(sentence.text, d) for d in found if d.date in dates
            )
            if dates and not undated and ("next_step" in kinds or _EVENT.search(sentence.text) or timed):
                if "commitment" in kinds and not (_EVENT.search(sentence.text) or timed):
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
                dated = first_date if _EVENT.search(sentence.text) or sentence.section == "next_step" or timed else None
                dated = dated or (first_date if "next_step" in kinds and "commitment" not in kinds else None)
                result["next_steps"].append(
                    {"kind": "next_step", "text": sentence.text, "citation": cite, "date": _iso(dated)}
                )
                if dated is not None:
                    next_dates.append(dated)
            if features:
                rows.append(objection_features(vector, sims, sentence, kinds))
            for kind, name in names:
                if (kind, name.lower()) in seen_names:
                    continue
                seen_names.add((kind, name.lower()))
                result[kind + "s"].append({"kind": kind, "text": name, "citation": cite, "date": None})
        # A name the note calls a competitor anywhere is no system where it stands without a cue.
        rivals = {item["text"].lower() for item in result["competitors"]}
        result["systems"] = [item for item in result["systems"] if item["text"].lower() not in rivals]
        analysis: dict[str, Any] = dict(result)
        analysis["next_step_date"] = _iso(min(next_dates)) if next_dates else None
        analysis["next_step_missing"] = not next_dates
        table = np.stack(rows) if rows else np.zeros((0, 384 + 20), dtype=np.float32)
        return [s.text for s in sentences], analysis, table


def _uncited(found: np.ndarray, items: list[dict[str, Any]]) -> list[int]:
    """The sentences `found` marks that no item cites yet."""
    cited = {item["citation"]["sentence"] for item in items}
    return [int(i) for i in np.flatnonzero(found) if i not in cited]


def _rival_complaint(text: str, names: list[tuple[str, str]]) -> bool:
    """A complaint about a competitor ("looked at X last year, too pricey"), which is no objection to us; a rival's
    lower price or an incumbent already paid for still is."""
    return (
        any(kind == "competitor" for kind, _ in names)
        and _COMPLAINT.search(text) is not None
        and _CUES["objection"].search(_COMPLAINT.sub(" ", text)) is None
    )


def _clause_at(text: str, start: int, fine: bool = False) -> str:
    """The clause holding the character at `start`: split at ';' and 'then' (in "review 11 Dec, then a call the week
    after (day tbd)" only the second step is undated; "call Tuesday, time TBD" is undated as a whole); `fine` also
    splits at commas, 'and', 'but' and 'while' ("responses due 20 March and the board meets in April": the deadline's
    clause names no meeting)."""
    breaks = _FINE_CLAUSE_BREAK if fine else _CLAUSE_BREAK
    bounds = [0, *(m.end() for m in breaks.finditer(text)), len(text) + 1]
    return next(text[left:right] for left, right in itertools.pairwise(bounds) if left <= start < right)


def _objection_after_but(text: str) -> bool:
    """Whether a concern after a 'but' stands ("Price is not an issue, but IT takes forever to approve anything"):
    when the negation was about one thing ("X is not an issue", "no concerns about X"), not about the whole call
    ("didn't raise concerns, but ...")."""
    negation = _NO_OBJECTION.search(text)
    if negation is None:
        return False
    scoped = re.match(r"\s+(?:about|on|over|around|re|regarding|with)\b", text[negation.end() :], re.I) or re.match(
        r"(?:is |was )?not an? ", negation.group(0), re.I
    )
    turn = _TURN.search(text, negation.end())
    return bool(scoped) and turn is not None and _CUES["objection"].search(text, turn.end()) is not None


# A clock time next to a date: "@ 4", "at 11", "3p", "11am", "14:00", "9-12", "10ish"; "same time" beside it.
_CLOCK_AFTER = re.compile(
    r"^[\s,]*(?:(?:@|at\b)\s*[0-2]?\d(?:[:.h][0-5]\d)?\s*(?:[ap]\.?m?\.?)?(?!\w)|[0-2]?\d(?:[:.][0-5]\d)?\s*[ap]\.?m?\.?"
    r"(?!\w)|[0-2]?\d:[0-5]\d\b|[0-2]?\d\s*[-\u2013]\s*[0-2]?\d\b(?![./])|(?:1[0-2]|[1-9])\s*-?ish\b(?!\s+[a-z]+s\b))",
    re.I,
)
_CLOCK_BEFORE = re.compile(r"(?:@|\bat)\s*[0-2]?\d(?:[:.][0-5]\d)?\s*(?:[ap]\.?m\.?)?[\s,]*(?:on\s+)?$", re.I)
# "same time next Thursday", "next week, same time": beside the date only ("at the same time, the contract ends on
# Friday" is a discourse marker, not an appointment).
_SAME_TIME_BEFORE = re.compile(r"(?<!the )\bsame time[\s,]*$", re.I)
_SAME_TIME_AFTER = re.compile(r"^[\s,]*(?:at\s+)?(?:the\s+)?same time\b", re.I)


def _timed(text: str, found: FoundDate) -> bool:
    if re.search(r"\btime\b|\d\s*[ap]\.?m\b|\d:[0-5]\d|@", found.text, re.I):
        return True  # "same time next week", "next Thursday 4pm": the date's own text names the hour
    end = found.start + len(found.text)
    before, after = text[: found.start], text[end:]
    return bool(
        _CLOCK_AFTER.match(after)
        or _CLOCK_BEFORE.search(before)
        or _SAME_TIME_BEFORE.search(before)
        or _SAME_TIME_AFTER.match(after)
    )


def _iso(value: date | None) -> str | None:
    return value.isoformat() if value else None


def classify(sentence: NoteSentence, sims: dict[str, float]) -> set[str]:
    """The kinds of one sentence: its section's kind, cue phrases backed by a modest similarity, or a high
    similarity with a margin over every other kind (neutral included)."""
    kinds: set[str] = set()
    if sentence.section in KINDS:
        kinds.add(sentence.section)
    cues = {kind for kind, pattern in _CUES.items() if pattern.search(sentence.text)}
    steps = {"next_step", "commitment"}
    if _HURDLE.search(sentence.text) and not (steps & cues or sentence.section in steps):
        cues.add("objection")
    for kind in cues:
        if sims[kind] >= CUE_FLOOR:
            kinds.add(kind)
    best = max(sims, key=lambda k: sims[k])
    others = max(v for k, v in sims.items() if k != best)
    if best != "neutral" and sims[best] >= BARE_FLOOR and sims[best] - others >= BARE_MARGIN:
        kinds.add(best)
    if (
        _NO_OBJECTION.search(sentence.text)
        and sentence.section != "objection"
        and not _objection_after_but(sentence.text)
    ):
        kinds.discard("objection")
    if "next_step" in kinds and "objection" not in cues and sentence.section != "objection":
        kinds.discard("objection")
    if sentence.section == "objection":
        kinds -= {"pain", "goal"}  # under "Pushback" or "Worries", "wants month-to-month" is a condition
    if "objection" in kinds and "objection" in cues and sentence.section not in ("pain", "goal"):
        kinds -= {"pain", "goal"}  # "worried the price is too high": an objection, not the customer's pain
    if "pain" in kinds and "goal" in kinds:
        kinds.discard("goal" if sims["pain"] >= sims["goal"] else "pain")
    if sentence.section in ("systems", "competitors"):
        kinds -= {"pain", "goal"}
    return kinds
