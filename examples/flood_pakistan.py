"""The 2022 Pakistan flood: flooded built-up area and accumulated precipitation per district.

Runs examples/flood_pakistan.json on an openeo-dedl server (``openeo-dedl serve``) with the openEO
Python client and writes, into ``--out``: result.json (the server's answer), usage.json (bytes
that crossed sites), districts.csv, flood_map.png (flooded built-up area per district) and
flood_chart.png (flooded built-up area and mean accumulated precipitation per district).

    .venv/bin/python examples/flood_pakistan.py [URL] [--out flood-output]

URL defaults to http://127.0.0.1:8000, where ``make serve`` listens; the scripts need the
packages of the project's ``.venv`` (matplotlib, geopandas, the openEO client).
"""

from __future__ import annotations

import csv
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from common import (
    band_values,
    choropleth,
    connect,
    last_day,
    parse_args,
    prepared_graph,
    print_usage,
    regions_frame,
    run,
)
from graphs import FLOOD_BANDS, FLOOD_JSON, FLOOD_WINDOW


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], "flood-output")
    out = Path(args.out)
    connection = connect(args)
    graph, regions = prepared_graph(connection, FLOOD_JSON, "flood", args.regions)
    result, usage = run(connection, graph, out)

    flooded_m2, precip_cellsum, cells = (band_values(result, b) for b in FLOOD_BANDS)
    with np.errstate(invalid="ignore", divide="ignore"):
        precip_mm = precip_cellsum / cells
    frame = regions_frame(regions)
    frame["flooded_built_up_ha"] = flooded_m2 / 1e4
    frame["precipitation_mm"] = precip_mm

    with open(out / "districts.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "name", "flooded_built_up_m2", "mean_precipitation_mm", "cells"])
        for (_, row), area, p, n in zip(
            frame.iterrows(), flooded_m2, precip_mm, cells, strict=True
        ):
            writer.writerow([row["id"], row["name"], f"{area:.1f}", f"{p:.2f}", int(n)])

    start, end = FLOOD_WINDOW[0], last_day(FLOOD_WINDOW[1])
    choropleth(
        frame,
        "flooded_built_up_ha",
        f"Flooded built-up area per district, flooded at any time from {start} to {end}",
        "flooded built-up area [ha]",
        out / "flood_map.png",
        cmap="Blues",
    )

    fig, ax = plt.subplots(figsize=(8, 5), layout="constrained")
    x = np.arange(len(frame))
    bars = ax.bar(x, frame["flooded_built_up_ha"], color="tab:blue", label="flooded built-up area")
    ax.set_ylabel("flooded built-up area [ha]")
    ax.set_xticks(x, frame["name"], rotation=20, ha="right")
    rain = ax.twinx()
    (line,) = rain.plot(
        x,
        frame["precipitation_mm"],
        "o-",
        color="tab:green",
        label="mean accumulated precipitation",
    )
    # From 0: the districts' totals differ by a tenth, not by the factor a cut axis suggests.
    rain.set_ylim(0, 1.1 * np.nanmax(frame["precipitation_mm"]))
    rain.set_ylabel("mean accumulated precipitation [mm]")
    ax.set_title(
        "Flooded built-up area and accumulated precipitation per district\n"
        f"(daily ERA5_LAND precipitation summed from {start} to {end})"
    )
    # Below the plot: inside it would cover the bars, the line or the right axis.
    fig.legend(handles=[bars, line], loc="outside lower center", ncols=2)
    fig.savefig(out / "flood_chart.png", dpi=120)
    plt.close(fig)

    print(frame[["name", "flooded_built_up_ha", "precipitation_mm"]].to_string(index=False))
    print_usage(usage)
    print(f"outputs in {out}/")


if __name__ == "__main__":
    main()
