"""The 2022 Po valley drought: soil-moisture anomaly on agricultural land per province and month.

Runs examples/drought_po_valley.json on an openeo-dedl server (``openeo-dedl serve``) with the
openEO Python client and writes, into ``--out``: result.json (the server's answer), usage.json
(bytes that crossed sites), provinces.csv (province, month, S1 and ERA5 anomalies in percent),
drought_map.png (the S1 anomaly per province in ``--month``) and drought_chart.png (the regional
time series of both anomalies).

    .venv/bin/python examples/drought_po_valley.py [URL] [--out drought-output]

URL defaults to http://127.0.0.1:8000, where ``make serve`` listens; the scripts need the
packages of the project's ``.venv`` (matplotlib, geopandas, the openEO client).
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
from common import (
    band_values,
    choropleth,
    connect,
    parse_args,
    prepared_graph,
    print_usage,
    regions_frame,
    run,
)
from graphs import DROUGHT_BANDS, DROUGHT_JSON, DROUGHT_YEAR, REFERENCE_YEARS

MAP_MONTH = f"{DROUGHT_YEAR}-07-01"  # the height of the 2022 drought


def main() -> None:
    args = parse_args(__doc__.splitlines()[0], "drought-output")
    out = Path(args.out)
    connection = connect(args)
    graph, regions = prepared_graph(connection, DROUGHT_JSON, "drought", args.regions)
    result, usage = run(connection, graph, out)

    months = list(result["coords"]["t"])
    s1, era5 = (band_values(result, b) for b in DROUGHT_BANDS)  # (province, month)
    frame = regions_frame(regions)

    with open(out / "provinces.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "name", "month", "s1_ssm_anomaly_pct", "era5_sm_anomaly_pct"])
        for i, (_, row) in enumerate(frame.iterrows()):
            for j, month in enumerate(months):
                writer.writerow(
                    [row["id"], row["name"], month, f"{s1[i, j]:.2f}", f"{era5[i, j]:.2f}"]
                )

    ref = f"{REFERENCE_YEARS[0]}-{REFERENCE_YEARS[-1]}"
    frame["s1_anomaly"] = s1[:, months.index(MAP_MONTH)]
    limit = (
        float(np.nanmax(np.abs(frame["s1_anomaly"]))) if frame["s1_anomaly"].notna().any() else 1
    )
    choropleth(
        frame,
        "s1_anomaly",
        f"Soil-moisture anomaly on agricultural land, {MAP_MONTH[:7]} (vs {ref})",
        "S1 soil-moisture anomaly [%]",
        out / "drought_map.png",
        cmap="BrBG",
        vmin=-limit,
        vmax=limit,
    )

    fig, ax = plt.subplots(figsize=(10, 5), layout="constrained")
    x = np.arange(len(months))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for i, (_, row) in enumerate(frame.iterrows()):
        colour = colours[i % len(colours)]
        ax.plot(x, s1[i], "-o", color=colour, label=f"{row['name']} (S1)")
        ax.plot(x, era5[i], "--", color=colour, alpha=0.7, label=f"{row['name']} (ERA5)")
    ax.axhline(0, color="grey", lw=0.8)
    ax.set_xticks(x, [m[:7] for m in months], rotation=45, ha="right")
    ax.set_ylabel(f"soil-moisture anomaly vs {ref} [%]")
    ax.set_title(f"Soil-moisture anomaly on agricultural land per province, {DROUGHT_YEAR}")
    # Beside the plot: inside it would hide the lines of the first months.
    ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
    fig.savefig(out / "drought_chart.png", dpi=120)
    plt.close(fig)

    summer = [months.index(f"{DROUGHT_YEAR}-{m:02d}-01") for m in (6, 7, 8)]
    frame["s1_jja"] = np.nanmean(s1[:, summer], axis=1)
    frame["era5_jja"] = np.nanmean(era5[:, summer], axis=1)
    print("mean anomaly June-August [%]:")
    print(frame[["name", "s1_jja", "era5_jja"]].to_string(index=False))
    print_usage(usage)
    print(f"outputs in {out}/")


if __name__ == "__main__":
    sys.exit(main())
