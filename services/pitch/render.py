"""The talk track rendered as markdown to read aloud (`Accept: text/markdown`); same content as the JSON.

Citations are numbered footnotes naming the document, its section and its as-of date: nothing in the text a
rep would have to skip over (no ids, no chunk references).
"""

from __future__ import annotations

from services.pitch.schemas import Citation, DealSection, NoteCitation, Point, TalkTrack


class _Footnotes:
    def __init__(self) -> None:
        self._numbers: dict[tuple[str, int | str, str], int] = {}
        self._lines: list[str] = []

    def _number(self, key: tuple[str, int | str, str], source: str) -> str:
        if key not in self._numbers:
            self._numbers[key] = len(self._numbers) + 1
            self._lines.append(f"[^{self._numbers[key]}]: {source}")
        return f"[^{self._numbers[key]}]"

    def cite(self, point: Point) -> str:
        c = point.citation
        return self._number((c.document_id, c.version, c.chunk_id), _source(c))

    def cite_note(self, c: NoteCitation) -> str:
        """A sentence of a meeting note: the meeting's date and which sentence."""
        return self._number(
            ("note", c.note_id, str(c.sentence)),
            f"*Meeting note of {c.meeting_date.isoformat()}*, sentence {c.sentence + 1}.",
        )

    def line(self, point: Point) -> str:
        return f"- {point.text}{self.cite(point)}"

    @property
    def lines(self) -> list[str]:
        return self._lines


def _source(c: Citation) -> str:
    title = c.title or c.external_id
    where = f', section "{c.section}"' if c.section else ""
    as_of = f", as of {c.as_of[:10]}" if c.as_of else ""
    return f"*{title}*{where}{as_of} (version {c.version})."


def render_markdown(track: TalkTrack, persona_name: str) -> str:
    notes = _Footnotes()
    lines = [f"# Talk track for a {persona_name} ({track.tone.value} tone)", ""]
    if track.abstained:
        lines += ["> **Abstained:** the library does not support a talk track for this buyer yet.", ""]
    for w in track.warnings:
        lines.append(f"> Warning: {w}")
    if track.warnings:
        lines.append("")
    for n, feature in enumerate(track.features, start=1):
        shown = " (already presented)" if feature.already_presented else ""
        lines += [f"## {n}. {feature.heading or feature.title}{shown}", "", f"*Why:* {feature.why}", ""]
        lines += [f'*They said:* "{q.text}"{notes.cite_note(q)}' for q in feature.customer_said]
        lines += [""] if feature.customer_said else []
        lines += [notes.line(p) for p in feature.points]
        if feature.proof:
            lines += ["", f"**Proof:** {feature.proof.text}{notes.cite(feature.proof)}"]
        if feature.be_ready_for:
            lines += ["", "**Be ready for:**", ""] + [notes.line(p) for p in feature.be_ready_for]
        lines.append("")
    if track.competitor:
        c = track.competitor
        lines += [f"## Against {c.name}", ""]
        if c.where_we_win:
            lines += ["**Where we win**", ""] + [notes.line(p) for p in c.where_we_win] + [""]
        for o in c.objections:
            verb = "ask" if o.objection.endswith("?") else "say"
            lines += [f'**They may {verb}:** "{o.objection}"', "", f"{o.response.text}{notes.cite(o.response)}", ""]
        if c.where_they_are_stronger:
            lines += [f"**Where {c.name} is stronger** (say so if asked)", ""]
            lines += [notes.line(p) for p in c.where_they_are_stronger] + [""]
        if c.landmine_questions:
            lines += ["**Landmine questions**", ""] + [f"- {q}" for q in c.landmine_questions] + [""]
    if track.deal:
        lines += _deal_lines(track.deal, notes)
    if track.discovery_questions:
        lines += ["## Discovery questions", ""] + [f"- {q}" for q in track.discovery_questions] + [""]
    lines += ["## Next step", "", track.next_step, ""]
    if track.deal and track.deal.next_step_agreed:
        agreed = track.deal.next_step_agreed
        lines += [f'Already agreed: "{agreed.text}"{notes.cite_note(agreed)}', ""]
    if notes.lines:
        lines += ["---", "", *notes.lines, ""]
    return "\n".join(lines)


def _deal_lines(deal: DealSection, notes: _Footnotes) -> list[str]:
    lines = [f"## This deal: {deal.account} ({deal.stage.replace('_', ' ')})", ""]
    if deal.context:
        lines += ["**What they told us**", ""] + [f"- {c.text}{notes.cite_note(c)}" for c in deal.context] + [""]
    for o in deal.objections:
        lines += [f'**They raised:** "{o.objection.text}"{notes.cite_note(o.objection)}', ""]
        if o.response:
            lines += [f"{o.response.text}{notes.cite(o.response)}", ""]
        else:
            lines += ["*Nothing in the library answers this closely enough yet.*", ""]
    if deal.already_presented:
        lines += [f"*Features marked (already presented) were shown in an earlier track for {deal.account}.*", ""]
    return lines
