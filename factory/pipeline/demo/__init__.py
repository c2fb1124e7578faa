"""The offline demo: the recruitment agency of DESIGN.md, built by the real pipeline.

``recruitment.yaml`` is the scenario (request, simulated builder answers, checks) and a
HAND-AUTHORED script of the agents' answers; ``recruitment.jsonl`` is that script recorded
at the provider interface, which ``factory demo`` replays through the replay provider. No
model wrote either file, and the demo says so every time it runs. ``services`` prepares
the demo tenant and its builder, and seeds sample data once the app is live.
"""

from pathlib import Path

DEMO_DIR = Path(__file__).resolve().parent
SCENARIO_PATH = DEMO_DIR / "recruitment.yaml"
RECORDING_PATH = DEMO_DIR / "recruitment.jsonl"
SEED_PATH = DEMO_DIR / "recruitment_seed.yaml"
