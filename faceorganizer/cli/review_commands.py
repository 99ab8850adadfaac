"""The review queue on the command line: ``review`` lists the questions, best first;
``review accept ID`` does what one proposes, ``review reject ID`` records the opposite for good.
Each answer is one edit (``undo`` reverts it)."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from typing import Any

from faceorganizer.cli.library_access import edit_done, library_option, run_with
from faceorganizer.cli.output import emit
from faceorganizer.services.library import Library
from faceorganizer.services.types import Suggestion

ANSWERS = {
    "merge": ("merge", "not the same"),
    "who": ("yes", "no"),
    "new": ("yes", "no"),
    "odd": ("remove", "keep"),
}


def _person(lib: Library, pid: int | None) -> str:
    if pid is None:
        return ""
    person = lib.person(pid)
    return f"{person.name or 'unnamed'} ({pid}, {person.face_count} faces)"


def _line(lib: Library, s: Suggestion) -> str:
    yes, no = ANSWERS[s.kind]
    faces = " ".join(str(f) for f in s.face_ids)
    if s.kind == "merge":
        what = f"{_person(lib, s.person_id)} and {_person(lib, s.other_person_id)}"
    elif s.kind == "new":
        what = f"faces {faces}"
    else:
        what = f"{_person(lib, s.person_id)}: face{'s' * (len(s.face_ids) > 1)} {faces}"
    return (
        f"{s.suggestion_id}  {100 * s.chance:3.0f} %  {s.question}  {what}  "
        f"[accept: {yes} / reject: {no}]"
    )


def cmd_review(args: argparse.Namespace, lib: Library) -> int:
    found = lib.review_queue(limit=args.limit)
    total = len(found) if args.limit is None else len(lib.review_queue())
    lines = [_line(lib, s) for s in found]
    if total > len(found):
        lines.append(f"… {total - len(found)} more")
    human = "\n".join(lines) if lines else "nothing to review: the people look right"
    emit(args, [asdict(s) for s in found], human)
    return 0


def cmd_accept(args: argparse.Namespace, lib: Library) -> int:
    return edit_done(args, lib.review_accept(args.id, args.excluded or ()), "")


def cmd_reject(args: argparse.Namespace, lib: Library) -> int:
    return edit_done(args, lib.review_reject(args.id), "")


def register(sub: Any, common: argparse.ArgumentParser) -> None:
    lib = library_option()
    parents = [common, lib]
    # given before or after ACCEPT/REJECT: the answer's own option must not reset it
    answer_parents = [common, library_option(argparse.SUPPRESS)]
    help_text = "questions that put people right in a few answers, best first"
    p = sub.add_parser("review", parents=parents, help=help_text, description=help_text)
    p.set_defaults(func=run_with(cmd_review, read_only=True))
    p.add_argument("--limit", type=int, help="list at most this many")
    answers = p.add_subparsers(dest="answer", metavar="ANSWER")
    a = answers.add_parser(
        "accept", parents=answer_parents, help="do what the question proposes",
        description="do what the question proposes (one edit; undo reverts it)",
    )  # fmt: skip
    a.add_argument("id", metavar="ID", help="the question's id, as `review` lists it")
    a.add_argument(
        "--except", dest="excluded", type=int, nargs="+", metavar="FACE",
        help="faces of the question that are not the person (recorded as such)",
    )  # fmt: skip
    a.set_defaults(func=run_with(cmd_accept))
    r = answers.add_parser(
        "reject", parents=answer_parents, help="record the opposite, for good",
        description="record that the question is wrong, so it is never asked again (one edit)",
    )  # fmt: skip
    r.add_argument("id", metavar="ID")
    r.set_defaults(func=run_with(cmd_reject))
