#!/usr/bin/env python3
"""ktap_check.py [--expect-pass] FILE|-: validate KTAP version 1 output.

The rules of Documentation/dev-tools/ktap.rst: a version line
"KTAP version 1" opens every test block (a nested block indented two
more spaces), then a plan "1..N"; test lines "ok N name" or "not ok N
name" with an optional "# DIRECTIVE" (SKIP, TODO, XFAIL, TIMEOUT,
ERROR), numbered 1..N in order; "# " lines are diagnostics; a nested
block ends at its parent's result line, which must be "not ok" if a
subtest is "not ok" (SKIP counts as ok).  Prints a summary; exits 1 at
the first violation (naming its line), with --expect-pass also when a
test is not ok.
"""
import re
import sys

RESULT = re.compile(r'^(not ok|ok) ([0-9]+)( [^#]*)?( # ?(SKIP|TODO|XFAIL|TIMEOUT|ERROR)\b.*)?$')
PLAN = re.compile(r'^1\.\.([0-9]+)$')


class Bad(Exception):
    pass


def parse(lines):
    pos = 0

    def block(indent):
        nonlocal pos
        pre = ' ' * indent

        def at():
            return lines[pos] if pos < len(lines) else None

        line = at()
        if line is None or line != pre + 'KTAP version 1':
            raise Bad('line %d: expected %r' % (pos + 1, pre + 'KTAP version 1'))
        pos += 1
        plan = None
        results = []
        sub_ok = None
        while pos < len(lines):
            line = lines[pos]
            if not line.strip():
                pos += 1
                continue
            if not line.startswith(pre):
                break
            body = line[indent:]
            if body.startswith('  '):
                if body.strip() == 'KTAP version 1':
                    sub_ok = block(indent + 2)
                    continue
                if indent == 0 or plan is None:
                    raise Bad('line %d: indented line outside a subtest' % (pos + 1))
                break
            if body.startswith('#'):
                pos += 1
                continue
            m = PLAN.match(body)
            if m:
                if plan is not None or results:
                    raise Bad('line %d: a plan after the plan or after results' % (pos + 1))
                plan = int(m.group(1))
                pos += 1
                continue
            m = RESULT.match(body)
            if m:
                ok = m.group(1) == 'ok'
                num = int(m.group(2))
                if num != len(results) + 1:
                    raise Bad('line %d: test %d follows test %d' % (pos + 1, num, len(results)))
                if not (m.group(3) or '').strip():
                    raise Bad('line %d: a test without a name' % (pos + 1))
                directive = m.group(5)
                if sub_ok is not None and not sub_ok and ok and directive is None:
                    raise Bad('line %d: ok although a subtest is not ok' % (pos + 1))
                sub_ok = None
                results.append(ok or directive in ('SKIP', 'TODO', 'XFAIL'))
                pos += 1
                continue
            raise Bad('line %d: not KTAP: %r' % (pos + 1, line))
        if plan is None:
            raise Bad('block at indent %d has no plan' % indent)
        if len(results) != plan:
            raise Bad('plan 1..%d but %d results (indent %d)' % (plan, len(results), indent))
        if indent == 0:
            return results
        return all(results)

    results = block(0)
    if pos != len(lines) and any(l.strip() for l in lines[pos:]):
        raise Bad('line %d: text after the last result' % (pos + 1))
    return results


def main():
    args = sys.argv[1:]
    expect_pass = '--expect-pass' in args
    args = [a for a in args if a != '--expect-pass']
    if len(args) != 1:
        print(__doc__.splitlines()[0], file=sys.stderr)
        return 2
    f = sys.stdin if args[0] == '-' else open(args[0])
    lines = f.read().split('\n')
    if lines and lines[-1] == '':
        lines.pop()
    try:
        results = parse(lines)
    except Bad as e:
        print('ktap_check: not valid KTAP: %s' % e)
        return 1
    passed = sum(results)
    print('ktap_check: valid KTAP version 1: %d tests, %d ok, %d not ok'
          % (len(results), passed, len(results) - passed))
    return 1 if expect_pass and passed != len(results) else 0


if __name__ == '__main__':
    sys.exit(main())
