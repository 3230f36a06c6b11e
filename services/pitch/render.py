"""The talk track rendered as markdown for reading (`Accept: text/markdown`); same content as the JSON."""

from __future__ import annotations

from services.pitch.schemas import Point, TalkTrack


def _cite(point: Point) -> str:
    c = point.citation
    return f"[{c.external_id} v{c.version}, chunk {c.chunk_id[:8]}{', as of ' + c.as_of[:10] if c.as_of else ''}]"


def render_markdown(track: TalkTrack, persona_name: str) -> str:
    lines = [f"# Talk track for a {persona_name} ({track.tone.value} tone)", ""]
    if track.abstained:
        lines += ["> **Abstained:** the library does not support a talk track for this buyer yet.", ""]
    for w in track.warnings:
        lines.append(f"> Warning: {w}")
    if track.warnings:
        lines.append("")
    for n, feature in enumerate(track.features, start=1):
        lines += [f"## {n}. {feature.title}", "", f"*Why:* {feature.why}", ""]
        lines += [f"- {p.text} {_cite(p)}" for p in feature.points]
        lines.append("")
    if track.competitor:
        lines += [f"## Against {track.competitor.name}", ""]
        if track.competitor.where_we_win:
            lines += ["**Where we win**", ""] + [f"- {p.text} {_cite(p)}" for p in track.competitor.where_we_win] + [""]
        for o in track.competitor.objections:
            lines += [f'**They may say:** "{o.objection}"', "", f"- {o.response.text} {_cite(o.response)}", ""]
    if track.discovery_questions:
        lines += ["## Discovery questions", ""] + [f"- {q}" for q in track.discovery_questions] + [""]
    lines += ["## Next step", "", track.next_step, ""]
    return "\n".join(lines)
