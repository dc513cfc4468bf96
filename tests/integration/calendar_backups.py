#!/usr/bin/env python3
"""Make a directory of backups over 400 simulated days, and say which ones a
calendar retention keeps, computed here independently of ctldb.

  calendar_backups.py make DIR DATA MANIFEST   copies of one real backup
  calendar_backups.py expect DIR LAST DAILY WEEKLY MONTHLY   kept paths

Each copy has its own name (its time) and a manifest naming it; a few days
have two backups, a few none; one backup is damaged (its size differs from
its manifest), one is dated in the future, one has no manifest.
"""
import datetime as dt
import json
import os
import shutil
import sys

UTC = dt.timezone.utc


def stamps(now):
    out = []
    for i in range(400):
        day = (now - dt.timedelta(days=i)).replace(hour=2, minute=0, second=0, microsecond=0)
        if i % 37 == 5:  # a gap: no backup that day
            continue
        out.append(day)
        if i % 11 == 3:  # a second backup that afternoon
            out.append(day.replace(hour=14, minute=30))
    return out


def name(t):
    return t.strftime("backup-%Y%m%d-%H%M%S")


def make(d, data, manifest):
    now = dt.datetime.now(UTC) - dt.timedelta(days=1)
    with open(manifest) as f:
        m = json.load(f)
    for t in stamps(now):
        stem = name(t)
        shutil.copyfile(data, os.path.join(d, stem + ".sql.gz"))
        m["file"] = stem + ".sql.gz"
        with open(os.path.join(d, stem + ".json"), "w") as f:
            json.dump(m, f)
    # damaged: the newest of one day, never counted
    damaged = name(stamps(now)[20])
    with open(os.path.join(d, damaged + ".sql.gz"), "ab") as f:
        f.write(b"x")
    # in the future: neither kept by a rule nor deleted
    future = name(now + dt.timedelta(days=30))
    shutil.copyfile(data, os.path.join(d, future + ".sql.gz"))
    m["file"] = future + ".sql.gz"
    with open(os.path.join(d, future + ".json"), "w") as f:
        json.dump(m, f)
    # no manifest: another tool's dump, never touched
    shutil.copyfile(data, os.path.join(d, "backup-20200101-000000.sql.gz"))
    print(damaged + ".sql.gz")


def expect(d, last, daily, weekly, monthly):
    files = sorted((f for f in os.listdir(d) if f.endswith(".sql.gz")), reverse=True)
    now = dt.datetime.now(UTC)
    kept = []
    seen = {"d": set(), "w": set(), "m": set()}
    counted = 0
    for f in files:  # newest first
        stem = f[: -len(".sql.gz")]
        t = dt.datetime.strptime(stem, "backup-%Y%m%d-%H%M%S").replace(tzinfo=UTC)
        manifest = os.path.join(d, stem + ".json")
        if t > now + dt.timedelta(minutes=5) or not os.path.exists(manifest):
            kept.append(f)  # not retention's to delete
            continue
        with open(manifest) as fh:
            usable = json.load(fh)["size_bytes"] == os.path.getsize(os.path.join(d, f))
        if not usable:
            continue
        keep = counted == 0  # the newest usable one
        if counted < last:
            keep = True
        counted += 1
        iso = t.isocalendar()
        for key, n, b in (("d", daily, t.date().isoformat()),
                          ("w", weekly, "%d-W%02d" % (iso[0], iso[1])),
                          ("m", monthly, t.strftime("%Y-%m"))):
            if b not in seen[key] and len(seen[key]) < n:
                seen[key].add(b)
                keep = True
        if keep:
            kept.append(f)
    for f in sorted(kept):
        print(os.path.join(d, f))


if __name__ == "__main__":
    if sys.argv[1] == "make":
        make(*sys.argv[2:5])
    else:
        expect(sys.argv[2], *map(int, sys.argv[3:7]))
