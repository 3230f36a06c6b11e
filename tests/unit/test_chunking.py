from __future__ import annotations

import itertools

import pytest

from services.core.tokens import MODEL_MAX_TOKENS, token_counter
from services.ingest.chunking import Chunker, split_sections

LONG_SENTENCE = (
    "The platform signs every SAML assertion with RSA-SHA256 and validates it against the identity provider metadata."
)


@pytest.fixture(scope="module")
def chunker() -> Chunker:
    return Chunker(token_counter(), max_tokens=120, overlap_tokens=24)


def test_sections_keep_their_heading_path() -> None:
    md = "# Doc\n\nIntro.\n\n## Security\n\nA.\n\n### Keys\n\nB.\n\n## Pricing\n\nC."
    sections = split_sections(md, "Doc")
    assert [(s.path, s.body) for s in sections] == [
        ((), "Intro."),
        (("Security",), "A."),
        (("Security", "Keys"), "B."),
        (("Pricing",), "C."),
    ]


def test_headings_inside_code_fences_are_not_sections() -> None:
    sections = split_sections("## Real\n\n```\n# not a heading\n```\n", "T")
    assert len(sections) == 1 and "# not a heading" in sections[0].body


def test_every_chunk_fits_the_budget_by_the_real_tokenizer(chunker: Chunker) -> None:
    md = "## How it works\n\n" + " ".join([LONG_SENTENCE] * 25) + "\n\n## Value\n\nTeams save 6 hours a week."
    chunks = chunker.chunk(md, "Single sign-on")
    counter = token_counter()
    assert len(chunks) > 3
    for chunk in chunks:
        real = counter.count(chunk.embed_text) + 2  # [CLS] and [SEP]
        assert real == chunk.tokens
        assert real <= 120 <= MODEL_MAX_TOKENS
        assert chunk.embed_text.startswith("Single sign-on > ")
    assert [c.ordinal for c in chunks] == list(range(len(chunks)))
    assert chunks[-1].section == "Value" and chunks[-1].text == "Teams save 6 hours a week."


def test_consecutive_chunks_of_one_section_overlap(chunker: Chunker) -> None:
    md = "## Mechanism\n\n" + " ".join(
        f"Sentence number {i} explains one more detail of the sync engine." for i in range(40)
    )
    chunks = chunker.chunk(md, "Sync")
    assert len(chunks) >= 3
    for before, after in itertools.pairwise(chunks):
        last_sentence = before.text.split("\n\n")[-1]
        assert last_sentence in after.text


def test_a_run_without_sentence_breaks_is_split_into_word_windows() -> None:
    chunker = Chunker(token_counter(), max_tokens=64, overlap_tokens=0)
    words = [f"tokenisation{i}" for i in range(300)]
    chunks = chunker.chunk("## Blob\n\n" + " ".join(words), "T")
    assert len(chunks) > 5
    assert all(c.tokens <= 64 for c in chunks)
    assert " ".join(c.text.replace("\n\n", " ") for c in chunks).split() == words


def test_budget_above_the_model_window_is_refused() -> None:
    with pytest.raises(ValueError, match="exceeds the model window"):
        Chunker(token_counter(), max_tokens=300)


def test_whitespace_free_runs_cannot_smuggle_huge_chunks() -> None:
    """WordPiece counts a 100+ character word as one [UNK]; such runs are cut so chunks stay small."""
    chunker = Chunker(token_counter(), max_tokens=64, overlap_tokens=0)
    blob = "QUJD" * 2500  # 10,000 characters of base64
    chunks = chunker.chunk(f"## Data\n\nimage: {blob}", "T")
    assert all(c.tokens <= 64 for c in chunks)
    assert max(len(c.text) for c in chunks) < 2_000
    assert "".join(c.text.replace(" ", "").replace("\n", "") for c in chunks) == f"image:{blob}"
