"""Sentence-level evidence: what is embedded, how it is stored, and how a snapshot holds it."""

from __future__ import annotations

import numpy as np

from services.core import sentences
from services.pitch.library import _doc_points, _DocPoints, build_library


def _unit(rng: np.random.Generator, n: int) -> np.ndarray:
    v = rng.normal(size=(n, 384)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_only_sentences_of_four_words_or_more_are_embedded() -> None:
    text = "Overview. Reminders leave from your own address. They carry your logo and colours."
    assert sentences.evidence_sentences(text) == [
        "Reminders leave from your own address.",
        "They carry your logo and colours.",
    ]


def test_packed_vectors_come_back_as_float32_within_float16_precision() -> None:
    rows = _unit(np.random.default_rng(0), 3)
    back = sentences.unpack(sentences.pack(rows), 384)
    assert back.dtype == np.float32 and back.shape == (3, 384)
    assert np.abs(back - rows).max() < 1e-3
    assert sentences.unpack(sentences.pack(np.zeros((0, 384))), 384).shape == (0, 384)


def _row(ordinal: int, vector: np.ndarray, pack: str | None) -> tuple[int, str, dict[str, object], list[float]]:
    payload: dict[str, object] = {"ordinal": ordinal, "external_id": "d", "title": "D", "text": "t"}
    if pack is not None:
        payload[sentences.PAYLOAD_KEY] = pack
    return ordinal, f"c{ordinal}", payload, vector.tolist()


def test_a_snapshot_holds_sentence_vectors_once_and_falls_back_to_chunks_without_them() -> None:
    rng = np.random.default_rng(1)
    chunks, sent_a, sent_b = _unit(rng, 2), _unit(rng, 2), _unit(rng, 1)
    with_sentences = _doc_points(
        [_row(0, chunks[0], sentences.pack(sent_a)), _row(1, chunks[1], sentences.pack(sent_b))]
    )
    assert with_sentences.sentences is not None and with_sentences.sentences.shape == (3, 384)
    assert all(sentences.PAYLOAD_KEY not in p for p in with_sentences.payloads)  # not kept twice
    # A document ingested before sentence vectors existed (or with them off) stands in with its chunk vectors.
    older = _doc_points([_row(0, chunks[0], None)])
    assert older.sentences is None
    library = build_library([("a", 1, with_sentences), ("b", 1, older)], "feature")
    assert library.has_sentences and library.sentences.shape == (4, 384)
    query = sent_b[0]
    best = library.best_sentence(library.sentences @ query)
    assert best[0] > 0.99  # document a's best sentence is the query itself
    assert np.isclose(best[1], float(chunks[0] @ query), atol=1e-3)  # document b: its chunk
    plain = build_library([("b", 1, _DocPoints(older.ids, older.payloads, older.vectors))], "feature")
    assert not plain.has_sentences


def test_a_page_that_answers_the_need_in_one_sentence_outranks_a_page_vaguely_close_overall() -> None:
    from services.pitch.ranking import Need, rank_documents

    rng = np.random.default_rng(2)
    need = _unit(rng, 1)[0]

    def toward(weight: float) -> np.ndarray:
        v = weight * need + (1 - weight) * _unit(rng, 1)[0]
        return (v / np.linalg.norm(v)).astype(np.float32)

    def doc(name: str, chunk: np.ndarray, sentence_rows: np.ndarray | None) -> tuple[str, int, _DocPoints]:
        payload: dict[str, object] = {"ordinal": 0, "external_id": name, "title": name.title(), "text": "t"}
        return name, 1, _DocPoints([f"{name}-0"], [payload], chunk[None, :], sentence_rows)

    one_sentence = doc("answers", toward(0.3), np.vstack([_unit(rng, 2), need[None, :]]))
    vague = toward(0.4)
    docs = [one_sentence, doc("vague", vague, vague[None, :])]
    docs += [doc(f"other{i}", v, v[None, :]) for i, v in enumerate(_unit(rng, 4))]
    needs, vectors = [Need("the deal", 1.0, "the deal", "deal")], need[None, :]
    live = np.ones(len(docs), dtype=bool)

    with_sentences = build_library(docs, "feature")
    order = [with_sentences.docs[i].external_id for i in rank_documents(with_sentences, needs, vectors, live).order]
    assert order[0] == "answers", order
    # Without sentence vectors (ingested with them off) the chunk vectors decide, as before.
    chunks_only = build_library([(n, v, _DocPoints(p.ids, p.payloads, p.vectors)) for n, v, p in docs], "feature")
    order = [chunks_only.docs[i].external_id for i in rank_documents(chunks_only, needs, vectors, live).order]
    assert order[0] == "vague", order


def test_the_model_reads_each_groups_chunks_then_their_distinct_sentences() -> None:
    from services.ingest.chunking import Chunk
    from services.ingest.pipeline import model_texts

    shared = "Reminders leave from your own address."
    chunks = [
        Chunk(0, "", f"{shared} Short.", "T > a", 5),
        Chunk(1, "", f"They carry your logo and colours. {shared}", "T > b", 9),
    ]
    # Longest first; the sentence both chunks hold (the overlap) is read once; "Short." is no evidence.
    assert model_texts(chunks, True) == ["T > b", "T > a", "They carry your logo and colours.", shared]
    assert model_texts(chunks, False) == ["T > b", "T > a"]
