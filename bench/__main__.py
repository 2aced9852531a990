"""Run every benchmark in bench/ and print its table: ``python -m bench``."""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path


def main() -> None:
    folder = Path(__file__).parent
    for module in sorted(m.name for m in pkgutil.iter_modules([str(folder)]) if not m.name.startswith("_")):
        print(f"\n== bench.{module} ==")
        bench = importlib.import_module(f"bench.{module}")
        result = bench.run()
        width = max(len(str(k)) for k in result) if isinstance(result, dict) else 0
        if isinstance(result, dict):
            for key, value in result.items():
                print(f"  {key:<{width}}  {value}")
        else:
            print(result)


if __name__ == "__main__":
    main()
