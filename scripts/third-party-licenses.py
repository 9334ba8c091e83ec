#!/usr/bin/env python3
"""Write the licence texts of every Rust crate linked into zhijian into DIR/crates/ and a table
DIR/THIRD-PARTY.md (crate, version, licence). Reads `cargo metadata` offline (run after a build,
when every crate source is in cargo's cache); the models' licences are in deploy/licenses/."""
import json, os, shutil, subprocess, sys

out = sys.argv[1]
meta = json.loads(subprocess.check_output(
    ["cargo", "metadata", "--format-version", "1", "--locked", "--offline",
     "--filter-platform", subprocess.check_output(["rustc", "-vV"], text=True)
        .split("host: ")[1].split()[0]]))
nodes = {n["id"]: n for n in meta["resolve"]["nodes"]}
pkgs = {p["id"]: p for p in meta["packages"]}
root = meta["resolve"]["root"]
# Crates reached from zhijian through normal and build dependencies (dev-only ones are not shipped).
seen, todo = set(), [root]
while todo:
    i = todo.pop()
    if i in seen:
        continue
    seen.add(i)
    for d in nodes[i]["deps"]:
        if any(k["kind"] in (None, "build") for k in d["dep_kinds"]):
            todo.append(d["pkg"])
seen.discard(root)
os.makedirs(os.path.join(out, "crates"), exist_ok=True)
rows = []
for i in sorted(seen, key=lambda i: (pkgs[i]["name"], pkgs[i]["version"])):
    p = pkgs[i]
    src = os.path.dirname(p["manifest_path"])
    texts = sorted(f for f in os.listdir(src)
                   if f.upper().startswith(("LICENSE", "LICENCE", "COPYING", "NOTICE")))
    dest = os.path.join(out, "crates", f'{p["name"]}-{p["version"]}')
    for f in texts:
        if os.path.isfile(os.path.join(src, f)):
            os.makedirs(dest, exist_ok=True)
            shutil.copyfile(os.path.join(src, f), os.path.join(dest, f))
    lic = p.get("license") or (f'see {p["license_file"]}' if p.get("license_file") else "unknown")
    rows.append(f'| {p["name"]} | {p["version"]} | {lic} | {"yes" if texts else "no (SPDX id only)"} |')
with open(os.path.join(out, "THIRD-PARTY.md"), "w") as f:
    f.write("# Third-party Rust crates linked into zhijian\n\n"
            "Licence texts shipped by each crate are in `crates/<name>-<version>/`.\n\n"
            "| crate | version | licence | text shipped |\n|---|---|---|---|\n")
    f.write("\n".join(rows) + "\n")
print(f"licenses: {len(rows)} crates", file=sys.stderr)
