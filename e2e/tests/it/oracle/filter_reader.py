# fail2ban's own reading of every filter of a tree (its FilterReader, as the server reads
# a jail's filter): failregex, ignoreregex, prefregex and datepattern after includes,
# .local files and interpolation, as JSON {name: {key: value}}; the oracle the filters
# API is checked against (e2e/tests/it/config_defs.rs).
#
#   python3 filter_reader.py CONFIG_DIR
import json
import os
import sys

from fail2ban.client.filterreader import FilterReader

conf = sys.argv[1]
out = {}
for f in sorted(os.listdir(os.path.join(conf, "filter.d"))):
    if not f.endswith(".conf"):
        continue
    name = f[:-5]
    reader = FilterReader(name, "oracle", {}, share_config={}, basedir=conf)
    try:
        if not reader.read():
            continue
        reader.getOptions({})
        opts = reader.getCombined()
    except Exception as e:  # a filter fail2ban cannot read on its own
        out[name] = {"error": str(e)}
        continue
    out[name] = {
        k: opts.get(k)
        for k in ("failregex", "ignoreregex", "prefregex", "datepattern")
        if opts.get(k) is not None
    }
print(json.dumps(out))
