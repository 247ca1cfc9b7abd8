#!/usr/bin/env python3
"""Regenerates shared/src/countries.rs from pycountry (pip install pycountry)."""
import pathlib
import pycountry

path = pathlib.Path(__file__).resolve().parent.parent / "shared/src/countries.rs"
text = path.read_text()
head, rest = text.split("pub const COUNTRIES", 1)
tail = rest.split("];", 1)[1]
rows = []
for c in sorted(pycountry.countries, key=lambda c: c.alpha_2):
    name = (getattr(c, "common_name", None) or c.name).replace('"', '\\"')
    rows.append(f'    ("{c.alpha_2}", {int(c.numeric)}, "{name}"),')
body = "pub const COUNTRIES: &[(&str, u16, &str)] = &[\n" + "\n".join(rows) + "\n];"
path.write_text(head + body + tail)
