"""How the lead's figures are made, written once for an evaluator: shown behind "How these figures
are made" on the program dashboard and printed as the method section of every report."""

from __future__ import annotations

from program.trends import MIN_GROUPS


def method_sections(min_group_size: int, left_out: int) -> list[tuple[str, str]]:
    """(heading, Markdown) pairs. `min_group_size` is the program's, `left_out` how many
    group-session-measure figures the view leaves out."""
    left = (
        "Nothing is left out of this view."
        if left_out == 0
        else f"This view leaves out **{left_out}** figures of one group at one session for one"
        " measure: each had too few answers, or its pulse was still open."
    )
    return [
        (
            "What is shown and what is held back",
            f"""
One group's answers to one measure at one session are shown only once the session's pulse has
closed and at least **{min_group_size} people** answered (the program's minimum group size, set by an admin
between 3 and 10). Below that an average could point to one person, so it is held back: not
estimated, not shown, not counted into any figure on this page or in any download. {left}
No figure here is built from a single answer, and no name from any roster appears.
""",
        ),
        (
            "Rounding",
            """
Each group's average is rounded before anything else uses it: more coarsely the fewer people
answered (on a 0–10 scale, whole points for 5–9 answers, halves for 10–19), up or down by a fixed
secret draw, so every view shows the same figure and comparing two views reveals nothing more.
""",
        ),
        (
            "Pooling across groups",
            f"""
A pooled average combines the groups' rounded averages at one session, each weighted by how many
answered. Members of one group move together, so groups, not people, are the independent units:
the 95% range uses the spread between group averages (a cluster-robust standard error) and
Student's t with one degree of freedom fewer than the number of groups. It is drawn only with at
least **{MIN_GROUPS} groups** and only when it fits inside the scale; with fewer the page says so
instead of drawing a range wider than the scale.
""",
        ),
        (
            "Comparing like with like",
            """
A line that joins four groups at the first session and two at the last can rise only because
different groups are counted. So each measure's line, and its sentence, counts by default only
the groups with figures at both its first and its last session (a balanced panel), and says how
many. The view of every group with figures remains one click away; it shows how many groups each
session pools and marks where that number falls.
""",
        ),
        (
            "How sure the sentences are",
            """
"Rose" or "fell" is said only when the whole 95% range of the change leaves zero out. "Stayed
about the same" means the range sits inside the smallest change that matters on the scale (set
in the measure's file). Otherwise the sentence says the change is unclear and gives the range.
Answers are anonymous and never linked across weeks, so a change is a change in the average of
whoever answered, not proof that each member improved.
""",
        ),
        (
            "The comparison grid",
            """
Each figure is one group's change between the first and last sessions at which its figures were
shown, from the two rounded averages; its 95% range assumes answers spread about a quarter of the
scale, which is cautious. "?" marks a change whose range includes zero.
""",
        ),
    ]


def method_markdown(min_group_size: int, left_out: int) -> str:
    """The sections as one Markdown text, headings in bold."""
    return "\n\n".join(
        f"**{heading}.** {' '.join(body.split())}"
        for heading, body in method_sections(min_group_size, left_out)
    )
