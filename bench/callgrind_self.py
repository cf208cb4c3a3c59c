#!/usr/bin/env python3
"""Self cost per function of a callgrind output file, read from its fn= records. On the
benchmark VM callgrind_annotate puts every instruction of a dump taken mid-run
(bench/callgrind_hello.sh) on one libstdc++ address; the file itself is fine.
  python3 bench/callgrind_self.py FILE [REQUESTS] [TOP]
With REQUESTS, the counts are per request."""
import collections
import sys


def self_costs(lines) -> collections.Counter:
    """Instructions per function, not counting its calls: in a callgrind file each cost
    line belongs to the last fn=, except the one right after calls=, which is the call's
    inclusive cost. Compressed names ("fn=(7) name", then "fn=(7)") are resolved."""
    costs = collections.Counter()
    names = {}
    fn = None
    after_calls = False
    for line in lines:
        if line.startswith("fn="):
            spec = line[3:].strip()
            if spec.startswith("("):
                key, _, name = spec.partition(")")
                name = name.strip()
                if name:
                    names[key] = name
                fn = names.get(key, spec)
            else:
                fn = spec
        elif line.startswith("calls="):
            after_calls = True
        elif line[:1].isdigit() or line[:1] in "+-*":
            fields = line.split()
            if len(fields) < 2:
                continue
            if after_calls:
                after_calls = False
                continue
            costs[fn] += int(fields[1])
    return costs


def main() -> None:
    path = sys.argv[1]
    per = int(sys.argv[2]) if len(sys.argv) > 2 else 1
    top = int(sys.argv[3]) if len(sys.argv) > 3 else 25
    with open(path) as f:
        costs = self_costs(f)
    total = sum(costs.values())
    for name, n in costs.most_common(top):
        print(f"{n / per:10.0f} {100 * n / total:5.1f}%  {name[:140]}")
    print(f"{total / per:10.0f} in all" + (" per request" if per > 1 else ""))


if __name__ == "__main__":
    main()
