#!/usr/bin/env python3
"""Generates an app whose schema grows to TABLES tables over STEPS migrations, each migration
written by `plinth migrate diff` from the schema of that step.

usage: gen_migrations.py PLINTH_BINARY APP_DIR [TABLES=200] [STEPS=1000]

Steps 1..TABLES create one table each (a tenant-scoped table with six columns, a foreign key to
an earlier table, an index and a check); the remaining steps alternate between adding a column,
adding an index on it, and adding a check, spread over all tables."""
import os, subprocess, sys, time

binary, app = sys.argv[1], sys.argv[2]
tables = int(sys.argv[3]) if len(sys.argv) > 3 else 200
steps = int(sys.argv[4]) if len(sys.argv) > 4 else 1000
os.makedirs(os.path.join(app, "migrations"), exist_ok=True)

model = []  # list of dicts: name, columns [(name, spec)], indexes {name: cols}, checks {name: expr}


def new_table(i):
    t = {"name": f"t{i:03d}", "columns": [
        ("id", '{ type = "uuid", primary_key = true, default = "uuid" }'),
        ("name", '{ type = "text(200)", not_null = true }'),
        ("amount", '{ type = "decimal(12,2)", not_null = true, default = "0" }'),
        ("status", '{ type = "state", not_null = true, default = "new" }'),
        ("payload", '{ type = "json", not_null = true, default = "{}" }'),
    ], "indexes": {"by_name": ["name"]}, "checks": {"amount_positive": "amount >= 0"}}
    if i > 0:
        t["columns"].append(("parent_id", f'{{ type = "uuid", references = "t{(i - 1) // 2:03d}", on_delete = "cascade" }}'))
    return t


def render():
    out = ['[app]', 'name = "scale"', 'tenants = "tenants"', '',
           '[enum.state]', 'values = ["new", "active", "closed"]', '',
           '[table.tenants]', 'columns.id = { type = "uuid", primary_key = true, default = "uuid" }',
           'columns.name = { type = "text", not_null = true }', '']
    for t in model:
        out.append(f'[table.{t["name"]}]')
        out.append('tenant_scoped = true')
        out.append('timestamps = true')
        for n, spec in t["columns"]:
            out.append(f'columns.{n} = {spec}')
        for n, cols in t["indexes"].items():
            out.append(f'indexes.{n} = {{ columns = {cols!r} }}'.replace("'", '"'))
        for n, e in t["checks"].items():
            out.append(f'checks.{n} = "{e}"')
        out.append('')
    return "\n".join(out)


start = time.time()
for step in range(1, steps + 1):
    if step <= tables:
        model.append(new_table(step - 1))
    else:
        k = step - tables - 1
        t = model[k % tables]
        col = f"c{k // tables}"
        phase = (k // tables) % 3
        if phase == 0:
            t["columns"].append((col, '{ type = "integer", not_null = true, default = 0 }'))
        elif phase == 1:
            prev = f"c{k // tables - 1}"
            t["indexes"][f"by_{prev}"] = [prev]
        else:
            prev = f"c{k // tables - 2}"
            t["checks"][f"{prev}_range"] = f"{prev} between 0 and 1000000"
    with open(os.path.join(app, "schema.toml"), "w") as f:
        f.write(render())
    r = subprocess.run([binary, "--app", app, "-q", "migrate", "diff", "-m", f"step {step}"],
                       capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"step {step}: plinth migrate diff failed:\n{r.stdout}{r.stderr}")
print(f"generated {steps} migrations ({tables} tables) in {time.time() - start:.1f}s")
