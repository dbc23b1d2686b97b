"""Train and save the example models in examples/ (seeded; a few seconds each).

    python tools/make_examples.py            # writes examples/jsc.keras
    python tools/make_examples.py --all      # also the other test-model kinds
"""

import argparse
from pathlib import Path

import tests_modules  # tools/tests_modules.py: tests/<name>.py by path





def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--all", action="store_true", help="write every model kind, not only jsc")
    ap.add_argument("--out", default=Path(__file__).resolve().parent.parent / "examples", type=Path)
    args = ap.parse_args()
    args.out.mkdir(exist_ok=True)
    zoo = tests_modules.load("zoo")
    for kind in zoo.KINDS if args.all else ("jsc",):
        path = args.out / f"{kind}.keras"
        zoo.build_model(kind, seed=0).save(path)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
