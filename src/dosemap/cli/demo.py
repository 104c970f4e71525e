"""``dosemap demo``: the main job of ``make run`` — a full-face plan and a living demo clinic.

1. Plans a full-face micro-dose treatment on the metric template face with a cited preset and
   writes ``plan.json``, ``plan.svg`` and ``plan.png`` (the plan drawn on the template face).
2. Checks the plan and prints its findings, as ``dosemap check`` would.
3. Seeds the demo clinic on first use (staff with credentials, 40 patients, 18 months of sessions)
   and shows the follow-ups that are due, so a newcomer sees a clinic at work.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.rule import Rule

from dosemap.cli.plan import print_findings, print_plan, write_plan_files
from dosemap.domain.plan import PlanRequest
from dosemap.domain.planning import build_plan
from dosemap.resources import load_library, template_mesh

app = typer.Typer(help="The demo: a full-face plan and a demo clinic (what `make run` runs).")

#: Diaspro 2020's 1 cm grid over the forehead and both cheeks (medial and lateral): about 90
#: needle entries, within the seed article's "50 to 100 times over the face".
DEMO_REQUEST = PlanRequest(
    zones=(
        "forehead",
        "medial_cheek_left",
        "medial_cheek_right",
        "lateral_cheek_left",
        "lateral_cheek_right",
    ),
    protocol="diaspro_2020_grid",
)


@app.callback(invoke_without_command=True)
def demo(
    ctx: typer.Context,
    out_dir: Annotated[
        Path, typer.Option(help="Where to write plan.json, plan.svg and plan.png.")
    ] = Path("out/demo"),
    clinic: Annotated[
        bool, typer.Option(help="Also seed (first run) and show the demo clinic.")
    ] = True,
) -> None:
    """Plan a full-face micro-dose treatment, check it, and open the demo clinic."""
    if ctx.invoked_subcommand is not None:
        return
    console = Console(highlight=False)
    library = load_library()
    plan = build_plan(DEMO_REQUEST, library, template_mesh())
    written = write_plan_files(
        plan,
        library,
        out=out_dir / "plan.json",
        svg=out_dir / "plan.svg",
        png=out_dir / "plan.png",
    )
    console.print(Rule("Full-face micro-dose plan on the template face"))
    print_plan(console, plan, library)
    print_findings(console, plan, library)
    if clinic:
        console.print(Rule("Demo clinic"))
        _show_clinic(console)
    console.print(Rule("Files"))
    for path in written:
        console.print(f"wrote {path.resolve()}")
    console.print(
        "Next: open plan.png; try `dosemap plan --help`, `dosemap catalog protocols`, "
        "`dosemap followups due`, `dosemap patients --help`."
    )


def _show_clinic(console: Console) -> None:
    from dosemap.cli.records import followups_due, seed_command
    from dosemap.config import load_settings

    settings = load_settings()
    console.print(f"records: {settings.database_url}")
    seed_command(patients=40, months=18, seed=7)
    followups_due(within=14, clinic=None)


@app.command("seed")
def seed(
    patients: Annotated[int, typer.Option(min=1, max=2000)] = 40,
    months: Annotated[int, typer.Option(min=1, max=60)] = 18,
    seed: Annotated[int, typer.Option()] = 7,
) -> None:
    """Seed the demo clinic (once; a second run does nothing)."""
    from dosemap.cli.records import seed_command

    seed_command(patients=patients, months=months, seed=seed)
