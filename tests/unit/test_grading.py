"""Grading rules that do not need the model: choice credit, figures in any wording, yes/no, opposites, claims.

The embedding here is a hash (unrelated texts sit near cosine 0), so any credit a test sees comes from the
rule under test, not from meaning; tests/integration/test_enablement_attempts.py grades with the real model."""

from __future__ import annotations

import numpy as np
import pytest

from services.enablement.claim_checks import (
    ALIGNED,
    AnswerMeasures,
    Combiner,
    align,
    aligned_pairs,
    antonym_conflict,
    fine_clauses,
    flipped_negation,
    swapped_term,
)
from services.enablement.grading import (
    Quantity,
    ShortAnswerPolicy,
    asserts_ruled_out,
    claims_of,
    figure_conflict,
    grade_choice,
    grade_short_answer,
    measure_short_answer,
    misplaced_figure,
    negated_word,
    polarity,
    quantities,
    slot_conflicts,
    unsourced_figure,
)
from tests.unit.hashed import hash_embed


def test_single_choice_is_the_key_or_nothing() -> None:
    assert grade_choice({1}, [1]).credit == 1.0 and grade_choice({1}, [1]).correct
    assert grade_choice({2}, [1]).credit == 0.0 and not grade_choice({2}, [1]).correct


def test_multiple_answers_earn_right_minus_wrong_over_keys_floored_at_zero() -> None:
    assert grade_choice({0, 2}, [0, 2, 3]).credit == pytest.approx(0.667, abs=1e-3)  # two of three, none wrong
    assert grade_choice({0, 2, 1}, [0, 2, 3]).credit == pytest.approx(0.333, abs=1e-3)  # one wrong takes one back
    assert grade_choice({0, 1, 2, 3}, [0, 2]).credit == 0.0  # ticking everything earns nothing
    assert grade_choice({1}, [0, 2]).credit == 0.0  # floored, never negative
    full = grade_choice({3, 0, 2}, [0, 2, 3])
    assert full.credit == 1.0 and full.correct and (full.right, full.wrong) == (3, 0)
    assert not grade_choice({0, 2}, [0, 2, 3]).correct  # partial credit is not "correct"


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("48 hours", "two days"),
        ("14 days", "a fortnight"),
        ("14 days", "two weeks"),
        ("60 seconds", "a minute"),
        ("2 minutes", "120 seconds"),
        ("30 emails an hour", "thirty messages per hour"),
        ("99.95%", "99.95 percent"),
        ("5,000 rows", "5000 rows"),
        ("10 GB", "10 gb"),
        ("15 minutes", "a quarter of an hour"),
        ("90 days", "three months"),
        ("52 weeks", "a year"),
        ("300 seconds", "5 to 15 minutes"),  # the first figure of a range takes the range's unit
        ("1M events", "a million events"),
        ("1,000,000 rows", "1M rows"),
        ("40 GB", "forty gigs"),
        ("$25", "twenty-five dollars"),
        ("3 TiB", "3TiB"),
        ("a 3x multiplier", "three times"),
        ("2 days", "within one day, or within two"),  # the unit said once holds for the bare number after it
        ("99.5%", "ninety-nine and a half percent"),
        ("60 hours", "two and a half days"),
        ("10 business days", "two working weeks"),  # both span two calendar weeks
        ("6 weeks", "six working weeks"),
        ("90 minutes", "an hour and a half"),
        ("2,500,000 users", "2 and a half million users"),
        ("1,000 requests per minute", "about 16 requests per second"),  # a rate rounded as people round it
    ],
)
def test_the_same_figure_in_other_words_is_the_same_quantity(a: str, b: str) -> None:
    qa, qb = quantities(a), quantities(b)
    assert qa and qb and any(x.same(y) for x in qa for y in qb), (qa, qb)


@pytest.mark.parametrize(
    ("a", "b"),
    [("99.9%", "99.95 percent"), ("22 minutes", "20 minutes"), ("a quarter of an hour", "a quarter"), ("7", "8")],
)
def test_close_figures_are_not_the_same(a: str, b: str) -> None:
    qa, qb = quantities(a), quantities(b)
    assert qa and qb and not any(x.same(y) for x in qa for y in qb), (qa, qb)


def test_numbers_in_names_are_not_figures() -> None:
    assert quantities("SOC 2 Type 2 and TLS 1.3 with SCIM 2.0") == []
    assert quantities("P0 tickets 24x7, ISO27001, S3 and 2FA") == []
    assert not figure_conflict("They hold SOC 2 Type II.", "It is SOC 2 Type 2 certified.")


def test_a_rate_is_one_figure_and_a_bare_number_before_a_noun_keeps_its_own_meaning() -> None:
    assert quantities("400 actions a second") == [Quantity(400.0, "count/time")]
    assert quantities("$5 a month") == quantities("$60 a year")
    assert quantities("$5 a month")[0].dim == "money/time"
    assert [q.dim for q in quantities("a day later and an hour")] == ["time", "time"]
    assert [q.dim for q in quantities("90 days of history and 1,000 outcomes")] == ["time", "count"]


def test_a_count_per_unit_of_time_is_a_rate_in_any_wording() -> None:
    per_minute = quantities("3,000 webhook calls per minute")
    assert per_minute == [Quantity(50.0, "count/time")]
    for same in ("50 calls a second", "3k calls each minute", "50/s", "180,000 webhook calls an hour"):
        assert quantities(same)[0].same(per_minute[0]), same
    assert not quantities("3,000 webhook calls per hour")[0].same(per_minute[0])
    assert figure_conflict("3,000 webhook calls per hour.", "3,000 webhook calls per minute; paid plans ask for more.")
    assert quantities("$5 per seat per month") == quantities("$5/seat/month") == quantities("$60 a year")
    # No time after the noun, a time that is the figure's own, or a time that is no "per": no rate.
    assert quantities("25 seats per account") == [Quantity(25.0, "count")]
    assert [q.dim for q in quantities("backups every 30 seconds")] == ["time"]
    for no_rate in (
        "5 people a year ago",
        "5 engineers for a month",
        "3 reviewers within a day",
        "50 seats a month later",
    ):
        assert quantities(no_rate)[0] == Quantity(float(no_rate.split()[0]), "count"), no_rate


def test_numbers_run_together_with_slashes_share_the_unit_after_them() -> None:
    assert quantities("7/30/90-day targets") == quantities("7 days, 30 days and 90 days")
    assert [q.value for q in quantities("alerts at 50/80/100%")] == [50.0, 80.0, 100.0]
    assert figure_conflict("Fixes within 7/30/90 days.", "Fixes within 7 days, 30 days or 90 days.") is False
    # A fraction before a unit is one figure; "24/7" is no run.
    assert quantities("1/2 hour") == [Quantity(1800.0, "time")] == quantities("30 minutes")
    assert quantities("24/7 support") == [Quantity(24.0, "count"), Quantity(7.0, "count")]


def test_a_different_figure_of_the_same_kind_conflicts_but_asides_do_not_make_it_right() -> None:
    reference = "The last 14 days (Pro gets 7 days, Enterprise up to 30)."
    assert not figure_conflict("A fortnight of nightly snapshots.", reference)
    assert figure_conflict("The last 7 days.", reference)  # a figure from the aside, not the answer
    assert figure_conflict("Up to 24 hours.", "About two minutes of data.")
    assert not figure_conflict("It rotates keys on a schedule.", "Keys rotate every 90 days.")  # no figure given
    assert not figure_conflict("Within 30 days.", "Most customers go live fast.")  # nothing to contradict
    assert figure_conflict("It provisions over SCIM 1.1.", "SCIM 2.0 provisioning from the IdP.")  # another version
    assert not figure_conflict("Over SCIM 2 from the IdP; TLS 1.3 in transit.", "SCIM 2.0 provisioning.")


def test_polarity_of_an_opening() -> None:
    assert polarity("No; the compute is not covered.") == "no"
    assert polarity("It doesn't: replicas sit outside.") == "no"
    assert polarity("They don't copy rows.") == "no"
    assert polarity("It does draw down the commitment.") == "yes"
    assert polarity("Yes, every item is capped.") == "yes"
    assert polarity("Compute sits outside the cap.") is None
    # "There is no ..." answers no, though it opens like "there is".
    assert polarity("There is no charge for either: both are free.") == "no"
    assert polarity("It does nothing until the job is approved.") == "no"
    assert polarity("There's no charge for either.") == "no"
    assert polarity("It is no problem: it is included.") == "yes"


def test_negated_words_are_opposites() -> None:
    assert negated_word("symmetrically signed tokens", "asymmetrically signed tokens")
    assert negated_word("data is unencrypted at rest", "data is encrypted at rest")
    assert not negated_word("signed tokens", "signed tokens with rotation")


def test_claims_set_asides_and_ruled_out_alternatives_apart() -> None:
    claims = claims_of(
        "By geo-routing: requests go to the closest database (replicas or primary); before that it was "
        "round-robin across all databases."
    )
    # The short lead stays with the clause it introduces: "By geo-routing" alone is not a claim a rep can make.
    assert claims.asserted == ["By geo-routing, requests go to the closest database"]
    assert claims.asides == ["replicas or primary"]
    assert claims.ruled_out == ["it was round-robin across all databases"]
    assert claims_of("No. Compute is excluded, along with add-ons.").asserted == [
        "Compute is excluded, along with add-ons"
    ]


def test_what_the_reference_denies_beside_a_claim_must_not_be_asserted() -> None:
    reference = "Exports run on the reporting replica, not the primary database; they never lock tables."
    claims = claims_of(reference)
    assert claims.denied == [("Exports run on the reporting replica", "the primary database")]
    # The claim keeps its denial: a right answer may say both halves.
    assert claims.asserted[0] == "Exports run on the reporting replica, not the primary database"
    assert asserts_ruled_out("Exports run straight on the primary database.", claims.denied)
    for right in (
        "They use the read replica rather than the primary database.",
        "Exports never touch the primary database.",
        "They go to the replica; the primary database is out of scope.",
        "On the reporting replica, not the primary database.",
        "Exports run on the replica, so the primary database stays fast.",  # about the database, not the exports
        "Exports never touch the primary database and cannot lock tables.",
    ):
        assert not asserts_ruled_out(right, claims.denied), right
    # "not just" and "not only" add; one word denied is too common in right answers to read as asserted.
    assert claims_of("Data is encrypted at rest, not just in transit.").denied == []
    assert claims_of("Only admins, not members, can delete projects.").denied == [("Only admins", "members")]
    assert not asserts_ruled_out("A sync that is triggered by a schedule.", [("Syncs run nightly", "triggered")])
    wrong = "Exports run on the reporting replica and the primary database alike."
    assert grade_short_answer(wrong, reference, [], hash_embed).contradiction == "opposite"


def test_a_denial_in_parentheses_denies_its_clause() -> None:
    reference = "It emails dashboards as PDFs on a schedule; it ships in the Business and Cloud editions (not open "
    reference += "source)."
    claims = claims_of(reference)
    assert claims.denied == [("it ships in the Business and Cloud editions", "open source")]
    # Hyphenated, the denied words are said all the same.
    hyphenated = "It emails PDFs on a schedule, and it ships in the free open-source edition."
    assert asserts_ruled_out(hyphenated, claims.denied)
    assert not asserts_ruled_out("Only the paid editions ship it; the open-source one does not.", claims.denied)
    assert claims_of("Syncs run hourly (not just nightly).").denied == []
    assert claims_of("Webhooks retry three times (not counting the first attempt).").denied == []
    assert claims_of("Alerts fire after 5 minutes (not immediately) and page the on-call (not the team).").denied[
        -1
    ] == (
        "Alerts fire after 5 minutes and page the on-call",
        "the team",
    )
    assert not asserts_ruled_out("It ships in the proprietary, non-open-source editions.", claims.denied)


def test_claims_keep_qualifiers_and_no_as_a_quantifier() -> None:
    # "No more than" is part of the claim, not an answer to a yes/no question.
    assert claims_of("No more than 8 jobs running concurrently, and each job under 10 minutes.").asserted == [
        "No more than 8 jobs running concurrently",
        "each job under 10 minutes",
    ]
    assert claims_of("No to both: there is no export (Team plans); they stay in the audit page.").asserted == [
        "there is no export",
        "they stay in the audit page",
    ]
    # A qualifier belongs to the clause before it.
    assert claims_of("Replicas serve only reads; all writes go to the primary, even via the pooler.").asserted == [
        "Replicas serve only reads",
        "all writes go to the primary, even via the pooler",
    ]


def test_a_contradiction_earns_nothing_however_many_words_match() -> None:
    words_only = ShortAnswerPolicy(point_floor=2.0, point_ceiling=3.0)  # cosine never credits: words decide
    reference = "No. Compute is excluded from the Spend Cap."
    points = ["compute excluded from the Spend Cap"]
    right = grade_short_answer("No, compute is excluded from the Spend Cap.", reference, points, hash_embed, words_only)
    flipped = grade_short_answer(
        "Yes, compute is excluded from the Spend Cap.", reference, points, hash_embed, words_only
    )
    assert right.credit == 1.0 and right.covered == (True,) and right.contradiction is None
    assert flipped.credit == 0.0 and flipped.contradiction == "polarity" and flipped.covered == (False,)
    figure = grade_short_answer("Keys rotate every 30 days.", "Keys rotate every 90 days.", ["rotate every 90 days"],
                                hash_embed, words_only)  # fmt: skip
    assert figure.credit == 0.0 and figure.contradiction == "figure"


def test_a_figure_in_other_words_credits_its_key_point() -> None:
    words_only = ShortAnswerPolicy(point_floor=2.0, point_ceiling=3.0)
    grade = grade_short_answer(
        "Nightly copies are kept for a fortnight.", "The last 14 days.", ["14 days of backups"], hash_embed, words_only
    )
    assert grade.point_credit == (0.8,) and grade.covered == (True,) and grade.contradiction is None


def test_an_empty_answer_earns_nothing() -> None:
    grade = grade_short_answer("   ", "Keys rotate every 90 days.", ["90 days", "decrypts logged"], hash_embed)
    assert grade.credit == 0 and grade.covered == (False, False) and not grade.correct


def test_a_key_points_words_said_the_other_way_round_earn_nothing_by_words() -> None:
    words_only = ShortAnswerPolicy(point_floor=2.0, point_ceiling=3.0)  # cosine never credits: words decide
    reference = "Data is encrypted at rest with the customer's keys."
    points = ["data encrypted at rest"]
    said = grade_short_answer("Data is encrypted at rest.", reference, points, hash_embed, words_only)
    negated = grade_short_answer("Data is not encrypted at rest.", reference, points, hash_embed, words_only)
    assert said.point_credit == (1.0,) and said.correct
    assert negated.point_credit == (0.0,) and not negated.correct


def test_clauses_are_cut_at_punctuation_and_connectives_and_aligned_by_shared_words() -> None:
    reference = "Incremental syncs run every 15 minutes on the Business plan and every 5 minutes on Enterprise (beta)."
    assert fine_clauses(reference) == [
        "Incremental syncs run every 15 minutes on the Business plan",
        "every 5 minutes on Enterprise",
    ]
    said, strength = align("syncs every 5 minutes on Business", fine_clauses(reference))
    assert said == "Incremental syncs run every 15 minutes on the Business plan" and strength >= ALIGNED
    assert align("nothing in common here", fine_clauses(reference)) == (None, 0.0)


def test_a_clause_that_swaps_a_figure_or_negates_its_reference_clause_is_flagged() -> None:
    reference = "Incremental syncs run every 15 minutes on the Business plan and every 5 minutes on Enterprise."
    # Both figures are the reference's, but each sits in the other's clause.
    swapped = "Incremental syncs run every 5 minutes on the Business plan and every 15 minutes on Enterprise."
    assert not figure_conflict(swapped, reference)  # the answer-wide check sees only known figures
    assert slot_conflicts(swapped, reference) == (True, False)
    assert slot_conflicts("On Business, incremental syncs run each quarter of an hour.", reference) == (False, False)
    checks = "Lumora automatically checks for sample ratio mismatch."
    assert slot_conflicts("Lumora does not check for sample ratio mismatch.", checks) == (False, True)
    assert slot_conflicts("Sample ratio mismatch is checked for you.", checks) == (False, False)
    # Small counts are not checked clause by clause ("three points" is too often incidental); large ones are.
    assert slot_conflicts("Incremental syncs run in 3 regions on the Business plan.", reference) == (False, False)
    tiers = "The free tier covers up to 50,000 monthly users on the Starter plan."
    assert slot_conflicts("The free tier covers up to 7,500 monthly users.", tiers) == (True, False)
    assert slot_conflicts("The free tier covers up to 50k monthly users.", tiers) == (False, False)


def test_the_combiner_maps_its_reading_onto_the_published_bands() -> None:
    combiner = Combiner(bias=0.0, weights=(4.0, 0, 0, 0, -2.0, 0, 0), correct_at=0.5, partial_at=0.35, full_at=0.9)

    def measures(coverage: float, figure_slot: bool = False) -> AnswerMeasures:
        return AnswerMeasures(coverage, coverage, 0.5, 0.5, figure_slot, False, 0.5)

    assert combiner.probability(measures(0.0)) == pytest.approx(0.5)
    assert combiner.credit(measures(0.0), 0.6, 0.3) == pytest.approx(0.6)  # its correct band lands on 0.6
    assert combiner.credit(measures(1.0), 0.6, 0.3) == 1.0  # full credit from full_at on
    readings = [combiner.credit(measures(c / 10 - 0.5), 0.6, 0.3) for c in range(11)]
    assert readings == sorted(readings) and readings[0] >= 0  # monotone
    low = Combiner(bias=0.0, weights=(0, 0, 0, 0, 0, 0, 0), correct_at=0.8, partial_at=0.5, full_at=0.9)
    assert low.credit(measures(0.0), 0.6, 0.3) == pytest.approx(0.3)  # its partial band lands on 0.3
    assert combiner.credit(measures(0.5, figure_slot=True), 0.6, 0.3) < combiner.credit(measures(0.5), 0.6, 0.3)


def test_the_reference_word_for_word_earns_full_credit_under_the_combiner() -> None:
    reference = "Keys rotate every 90 days, and every decrypt is logged with the caller's identity."
    grade = grade_short_answer(reference, reference, [], hash_embed)  # the default policy: the fitted combiner
    assert grade.credit == 1.0 and grade.correct and all(grade.covered)
    unrelated = grade_short_answer("Our webinars are popular with marketers.", reference, [], hash_embed)
    assert unrelated.credit < 0.3 and not unrelated.correct


def test_a_wrong_answer_with_a_contradicting_clause_names_it_and_earns_nothing() -> None:
    reference = "Lumora automatically checks for sample ratio mismatch and warns when the traffic split drifts."
    grade = grade_short_answer("Lumora does not check for sample ratio mismatch.", reference, [], hash_embed)
    assert grade.credit == 0.0 and grade.contradiction == "opposite" and not any(grade.covered)


def test_a_figure_moved_to_another_clause_or_replaced_is_misplaced() -> None:
    reference = "Snapshots are kept for 30 days in the primary region and replicas keep them for 7 days."
    swapped = "Snapshots are kept for 7 days in the primary region and replicas keep them for 30 days."
    assert misplaced_figure(swapped, reference)
    assert misplaced_figure("Snapshots are kept for 90 days in the primary region.", reference)
    # The same figures in other words, in the same places, are right.
    assert not misplaced_figure("The primary region holds snapshots for a month; replicas keep them a week.", reference)
    # A clause that gives its own figure beside another ("about a month, 30 days") is not misplaced.
    assert not misplaced_figure("Snapshots are kept in the primary region for about 4 weeks, 30 days.", reference)
    # A clause that shares its words equally with two reference clauses may hold either one's figure.
    objectives = "Failover has a recovery point objective of 5 minutes and a recovery time objective of 30 minutes."
    assert aligned_pairs("recovery objective of 30 minutes", objectives, margin=1.0)[0][1] == [
        "Failover has a recovery point objective of 5 minutes",
        "a recovery time objective of 30 minutes",
    ]
    assert not misplaced_figure("It loses at most 5 minutes of data and recovers within 30 minutes.", objectives)
    assert misplaced_figure("A recovery point objective of 30 minutes and a recovery time objective of 5 minutes.",
                            objectives)  # fmt: skip


def test_a_figure_of_a_clause_the_answer_states_beside_it_is_no_swap() -> None:
    reference = "A reminder goes out 3 days before the trial ends; access is restored 14 days after the reminder."
    # Two clauses of the answer both read as the second reference clause; one of them gives its figure, so the
    # other figure (the first clause's) is where the answer means it, not swapped in.
    both = "After a three-day reminder, access stops, and it comes back once fourteen days pass after the reminder."
    assert not misplaced_figure(both, reference)
    # A clause that speaks of both reference clauses does not vouch for a figure: here both are swapped.
    assert misplaced_figure("Access is restored 3 days after the reminder, the reminder gives 14 days notice.",
                            reference)  # fmt: skip
    # Each figure said where the other belongs is still a swap.
    assert misplaced_figure("A reminder goes out 14 days before the trial ends; access is restored 3 days after the "
                            "reminder.", reference)  # fmt: skip


def test_an_antonym_in_the_aligned_clause_is_the_opposite_claim() -> None:
    reference = "Compaction runs in parallel across shards, shortening nightly jobs by about half."
    assert antonym_conflict("Compaction runs sequentially across shards, shortening nightly jobs by half.", reference)
    assert antonym_conflict("Compaction runs in parallel across shards but lengthens nightly jobs.", reference)
    assert not antonym_conflict("Shards are compacted side by side, so nightly jobs take about half as long.",
                                reference)  # fmt: skip
    # Negated, the antonym says the same thing; particles ("up to", "is down") are not antonyms.
    assert not antonym_conflict("Compaction does not run sequentially across shards.", reference)
    particle = "Retries go on for up to a day while the endpoint is down."
    reference_up = "Retries go on for up to a day while the endpoint is up."
    assert aligned_pairs(particle, reference_up)  # the clauses are compared, and "down" is no antonym of "up"
    assert not antonym_conflict(particle, reference_up)
    # "every 60 seconds" says how often: "only" is no opposite of it.
    assert not antonym_conflict("The agent only polls once a minute.", "The agent polls once every 60 seconds.")
    assert antonym_conflict("The proxy only serves reads.", "The proxy serves every request.")
    assert not antonym_conflict("It only polls once a minute.", "It polls once every five mins.")
    assert antonym_conflict("Backups run only on Sundays.", "Backups run every day.")  # "every day" is no interval
    assert antonym_conflict("Scheduled exports stop at once.", "Scheduled exports continue to run.")
    assert antonym_conflict("Replication continues during the backup.", "Replication stops during the backup.")


def test_a_misplaced_figure_or_an_antonym_earns_nothing_under_the_combiner() -> None:
    reference = "Snapshots are kept for 30 days in the primary region and replicas keep them for 7 days."
    swapped = grade_short_answer(
        "Snapshots are kept for 7 days in the primary region and replicas keep them for 30 days.", reference, [],
        hash_embed,
    )  # fmt: skip
    assert swapped.credit == 0.0 and swapped.contradiction == "figure"
    zones = "Each cluster runs across multiple availability zones."
    single = grade_short_answer("Each cluster runs in a single availability zone.", zones, [], hash_embed)
    assert single.credit == 0.0 and single.contradiction == "opposite"
    assert grade_short_answer(zones, zones, [], hash_embed).credit == 1.0


def test_the_weakest_key_point_is_read_from_the_closest_stretch_of_the_answer() -> None:
    """A key point said across a clause boundary is found in the two clauses together, and the measure is the
    least-covered point's cosine: an answer that leaves one point out reads lower than one that says both."""
    reference = "Exports run nightly; each export is signed with the tenant key."
    points = ["Exports run nightly", "each export is signed with the tenant key"]
    both = measure_short_answer(reference, reference, points, hash_embed).measures
    one = measure_short_answer("Exports run nightly.", reference, points, hash_embed).measures
    assert both.weakest_point_cosine == pytest.approx(1.0, abs=1e-6)
    assert one.weakest_point_cosine < 0.5 < both.weakest_point_cosine
    spread = "each export is signed, with the tenant key"  # the point split over two clauses
    measured = measure_short_answer(f"Exports run nightly; {spread}.", reference, points[1:], hash_embed).measures
    assert measured.weakest_point_cosine == pytest.approx(1.0, abs=1e-6)


def test_two_things_the_reference_tells_apart_swapped_is_a_contradiction() -> None:
    reference = (
        "Batch export writes one file per table, while streaming export sends each change to a queue as it happens."
    )
    swapped = "Streaming export writes one file per table, while batch export sends each change to a queue."
    assert swapped_term(swapped, reference)
    own_words = (
        "Batch gives you a file for every table; streaming pushes every change onto a queue the moment it lands."
    )
    assert not swapped_term(own_words, reference)
    assert not swapped_term(reference, reference)


def test_a_near_copy_that_negates_what_the_reference_asserts_is_a_contradiction() -> None:
    reference = "Archived projects can be restored by an admin within 30 days, and billing stops on archive."
    assert flipped_negation("Archived projects cannot be restored by an admin within 30 days.", reference)
    assert flipped_negation("Archived projects can be restored, and billing never stops on archive.", reference)
    # Said the same way, or negated in words of its own, it is not.
    assert not flipped_negation("An admin can bring an archived project back for up to a month.", reference)
    assert not flipped_negation(reference, reference)
    negative = "Deleted workspaces cannot be restored by support."
    assert not flipped_negation("Support is unable to restore deleted workspaces; they cannot be restored.", negative)


def test_a_negator_bears_on_words_not_on_names_in_code() -> None:
    reference = "A job that stops responding is stopped with JOB_TIMED_OUT after five minutes."
    assert not flipped_negation("After five minutes the job gets a JOB_TIMED_OUT error.", reference)
    # Ordinary words beside a name in code are still within reach.
    reference = "The worker cannot retry FAILED_FETCH errors on its own."
    assert flipped_negation("The worker can retry FAILED_FETCH errors on its own.", reference)


def test_a_swapped_or_negated_copy_of_the_reference_earns_nothing() -> None:
    reference = "Snapshots restore fast but only into the same version, while dumps move data between versions."
    wrong = "Dumps restore fast but only into the same version, while snapshots move data between versions."
    grade = grade_short_answer(wrong, reference, [], hash_embed)
    assert grade.credit == 0.0 and grade.contradiction == "opposite"


def test_what_a_review_found_reads_right() -> None:
    """Cases a review of the clause checks found misread, each a right answer or a figure read wrong before."""
    reference = "The API does not support bulk deletes."
    assert not flipped_negation("The API does not currently support bulk deletes.", reference)
    assert not flipped_negation(
        "Archived teams can't ever be deleted by members.", "Archived teams cannot be deleted by members."
    )
    negative = "Deleted workspaces cannot be restored by support."
    assert not flipped_negation("Support is unable to restore deleted workspaces.", negative)
    assert not antonym_conflict("The trial lasts 14 days and is free.", "The first 14 days of the trial are free.")
    assert not antonym_conflict(
        "Audit logs are retained for 30 days, then deleted.", "Audit logs are deleted after 30 days."
    )
    assert [q.dim for q in quantities("The trial is 14 days, introduced in 2023.")] == ["time", "count"]
    assert [q.dim for q in quantities("Retention is 30 days. Plans start at 5 seats and go up to 50.")] == [
        "time",
        "count",
        "count",
    ]
    assert quantities("a cap of $10m") == [Quantity(10_000_000.0, "money")]
    assert [q.value for q in quantities("more than twenty, one of them")] == [20.0]
    assert not figure_conflict("It supports SCIM I believe.", "It supports SCIM 2.0.")


def test_a_clause_that_reads_as_a_reference_clause_with_a_figure_the_material_never_gives_is_unsourced() -> None:
    reference = ["Snapshots are taken every 6 hours", "each snapshot is retained for 14 days"]
    sources = [" and ".join(reference)]
    # cosines[i, j]: answer clause i against reference clause j (the shared model's, here given).
    close = np.array([[0.9, 0.2], [0.2, 0.8]])
    wrong = ["Snapshots are taken every 6 hours", "each snapshot is kept for 48 hours"]
    assert unsourced_figure(wrong, reference, close, sources)
    right = ["A snapshot is taken every six hours", "each is held for two weeks"]
    assert not unsourced_figure(right, reference, close, sources)
    # A figure the material gives elsewhere is no conflict here (misplaced_figure reads swaps).
    moved = ["Snapshots are taken every 14 days", "each snapshot is retained for 6 hours"]
    assert not unsourced_figure(moved, reference, close, sources)
    # A clause that reads as no reference clause is not checked; nor a figure of a kind its clause does not state.
    far = np.array([[0.9, 0.2], [0.3, 0.5]])
    assert not unsourced_figure(wrong, reference, far, sources)
    assert not unsourced_figure(
        ["each snapshot is kept for 48 hours"], ["each snapshot is kept"], close[:1, :1], sources
    )
    # A key point is a source too.
    assert not unsourced_figure(wrong, reference, close, [*sources, "kept for two days"])


def test_how_often_and_half_of_a_thing_are_no_durations() -> None:
    assert quantities("twice a day") == []  # how often, not a duration of a day
    assert [q.dim for q in quantities("four times a day")] == ["ratio"]
    workshop = quantities("Pro includes 5 and a half-day workshop")
    assert not any(q.same(Quantity(5.5 * 86400, "time")) for q in workshop)
    assert not any(q.value == 5.5 for q in quantities("seats 1 to 5 and a half-price sixth seat"))
    # "and a half" holds its figure together in a clause too.
    assert fine_clauses("tickets within two and a half hours and others within a day") == [
        "tickets within two and a half hours",
        "others within a day",
    ]
